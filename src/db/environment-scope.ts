/**
 * One environment's handle on the shared tables. Every table and view of the mirror has an
 * `environment` column leading its keys (migrations/0006, 0007); a Kysely made through
 * `scopedToEnvironment` confines each statement to one environment, so no code path can read or
 * write another's rows by forgetting a condition:
 *
 * - every reference to an environment's table in a `select`, `update` or `delete` (its FROM,
 *   its joins, every subquery) gains `<table>.environment = $environment`, a join in its ON (the
 *   statement's own condition in parentheses either way, so an `or` in it cannot escape), a
 *   join without an ON (a cross join) in the where; an `update` may not set `environment`;
 * - every `insert` into one gains the `environment` column, with that value, in each row, and
 *   its `on conflict` target gains `environment` first (the keys lead with it);
 * - a statement it cannot confine is refused with an error: an `insert ... select` (whose rows
 *   it cannot see) unless it names `environment` among its columns itself, and a `merge`.
 *
 * Raw SQL (`sql\`...\``) is not rewritten: code that reaches these tables with it passes the
 * environment itself. The fleet's own tables (`workers`, `request_budget`) belong to no
 * environment and are left alone.
 */
import {
  AliasNode,
  AndNode,
  BinaryOperationNode,
  ColumnNode,
  type DeleteQueryNode,
  IdentifierNode,
  type InsertQueryNode,
  type JoinNode,
  type Kysely,
  type KyselyPlugin,
  type MergeQueryNode,
  type OnConflictNode,
  OnNode,
  type OperationNode,
  OperationNodeTransformer,
  OperatorNode,
  ParensNode,
  type PluginTransformQueryArgs,
  type PluginTransformResultArgs,
  PrimitiveValueListNode,
  type QueryId,
  type QueryResult,
  ReferenceNode,
  type RootOperationNode,
  type SelectQueryNode,
  TableNode,
  type UnknownRow,
  type UpdateQueryNode,
  ValueListNode,
  ValueNode,
  ValuesNode,
  WhereNode,
} from 'kysely';
import type { Database } from './tables.ts';

/** The relations keyed by environment: every table and view but the fleet's own. */
export const ENVIRONMENT_RELATIONS: ReadonlySet<string> = new Set([
  'connections',
  'connection_domains',
  'connection_certificates',
  'organizations',
  'organization_domains',
  'events',
  'reconciliation_runs',
  'sync_state',
  'reconciliation_pass_listed',
  'leases',
  'live_connections',
  'live_connection_domains',
  'expiring_certificates',
  'live_organizations',
  'live_organization_domains',
  'domain_routes',
] satisfies (keyof Database)[]);

/**
 * The environment of the single-environment settings, and of every row written before there
 * were environments (migrations/0006 gave the column this default).
 */
export const DEFAULT_ENVIRONMENT = 'default';

/** What an environment may be called: a slug, safe to inline in a statement. */
export const ENVIRONMENT_NAME = /^[a-z0-9][a-z0-9_-]{0,62}$/;

/** `db` (bound to `schema`), confined to `environment`. */
export function scopedToEnvironment(
  db: Kysely<Database>,
  schema: string,
  environment: string,
): Kysely<Database> {
  if (!ENVIRONMENT_NAME.test(environment)) throw new Error(`"${environment}" is not an environment's name`);
  return db.withPlugin(new EnvironmentScopePlugin(schema, environment));
}

export class EnvironmentScopePlugin implements KyselyPlugin {
  readonly #transformer: EnvironmentScopeTransformer;
  constructor(
    schema: string,
    readonly environment: string,
  ) {
    this.#transformer = new EnvironmentScopeTransformer(schema, environment);
  }
  transformQuery(args: PluginTransformQueryArgs): RootOperationNode {
    return this.#transformer.transformNode(args.node, args.queryId);
  }
  async transformResult(args: PluginTransformResultArgs): Promise<QueryResult<UnknownRow>> {
    return args.result;
  }
}

class EnvironmentScopeTransformer extends OperationNodeTransformer {
  constructor(
    private readonly schema: string,
    private readonly environment: string,
  ) {
    super();
  }

  protected override transformSelectQuery(node: SelectQueryNode, queryId?: QueryId): SelectQueryNode {
    const query = super.transformSelectQuery(node, queryId);
    const joins = query.joins?.map((join) => this.#confineJoin(join));
    const tables = [...(query.from?.froms ?? []), ...this.#joinedWithoutOn(query.joins)];
    return this.#confineWhere({ ...query, ...(joins ? { joins } : {}) }, tables);
  }

  protected override transformUpdateQuery(node: UpdateQueryNode, queryId?: QueryId): UpdateQueryNode {
    const query = super.transformUpdateQuery(node, queryId);
    const tables = [
      ...(query.table ? [query.table] : []),
      ...(query.from?.froms ?? []),
      ...this.#joinedWithoutOn(query.joins),
    ];
    if (
      tables.some((t) => this.#reference(t) !== null) &&
      query.updates?.some((u) => ColumnNode.is(u.column) && u.column.column.name === 'environment')
    )
      throw new Error(`an update on a handle confined to ${this.environment} may not set environment`);
    const joins = query.joins?.map((join) => this.#confineJoin(join));
    return this.#confineWhere({ ...query, ...(joins ? { joins } : {}) }, tables);
  }

  protected override transformDeleteQuery(node: DeleteQueryNode, queryId?: QueryId): DeleteQueryNode {
    const query = super.transformDeleteQuery(node, queryId);
    const joins = query.joins?.map((join) => this.#confineJoin(join));
    const tables = [
      ...query.from.froms,
      ...(query.using?.tables ?? []),
      ...this.#joinedWithoutOn(query.joins),
    ];
    return this.#confineWhere({ ...query, ...(joins ? { joins } : {}) }, tables);
  }

  /** A merge's matching cannot be confined as a join's can: refused on an environment's tables. */
  protected override transformMergeQuery(node: MergeQueryNode, queryId?: QueryId): MergeQueryNode {
    const query = super.transformMergeQuery(node, queryId);
    if (this.#reference(query.into) !== null || (query.using && this.#reference(query.using.table) !== null))
      throw new Error(
        `a merge cannot be confined to an environment: use insert … on conflict, update or delete`,
      );
    return query;
  }

  protected override transformInsertQuery(node: InsertQueryNode, queryId?: QueryId): InsertQueryNode {
    const query = super.transformInsertQuery(node, queryId);
    if (!query.into || this.#reference(query.into) === null) return query;
    const columns = query.columns ?? [];
    const onConflict = query.onConflict ? { onConflict: this.#conflictTarget(query.onConflict) } : {};
    const named = columns.findIndex((c) => c.column.name === 'environment');
    if (!query.values || !ValuesNode.is(query.values)) {
      if (named === -1)
        throw new Error(
          `an insert into ${query.into.table.identifier.name} from a query must name its environment column itself`,
        );
      return { ...query, ...onConflict };
    }
    const rows = query.values.values.map((row) => {
      const values = PrimitiveValueListNode.is(row) ? row.values.map((v) => ValueNode.create(v)) : row.values;
      if (named === -1) return [...values, this.#value()];
      const given = values[named];
      if (given && ValueNode.is(given) && given.value !== this.environment)
        throw new Error(
          `an insert into ${query.into?.table.identifier.name} names the environment ${String(given.value)} on a handle confined to ${this.environment}`,
        );
      return values.map((v, i) => (i === named ? this.#value() : v));
    });
    return {
      ...query,
      columns: named === -1 ? [...columns, ColumnNode.create('environment')] : columns,
      values: ValuesNode.create(rows.map((values) => ValueListNode.create(values))),
      ...onConflict,
    };
  }

  /**
   * Inlined (a slug: `scopedToEnvironment` checks it), not bound: a chunked insert's parameters stay what
   * `statementChunks` counted. A row that left the column out (Kysely's DEFAULT) gets it too.
   */
  #value(): OperationNode {
    return ValueNode.createImmediate(this.environment);
  }

  #conflictTarget(onConflict: OnConflictNode): OnConflictNode {
    const columns = onConflict.columns;
    if (!columns || columns.some((c) => c.column.name === 'environment')) return onConflict;
    return { ...onConflict, columns: [ColumnNode.create('environment'), ...columns] };
  }

  /**
   * The join's own condition in parentheses, as a where's (an `or` in it must not escape). A join
   * without one (a cross join) is confined in the where instead: `#joinedWithoutOn`.
   */
  #confineJoin(join: JoinNode): JoinNode {
    const table = this.#reference(join.table);
    if (table === null || !join.on) return join;
    return {
      ...join,
      on: OnNode.create(AndNode.create(ParensNode.create(join.on.on), this.#condition(table))),
    };
  }

  #joinedWithoutOn(joins: readonly JoinNode[] | undefined): OperationNode[] {
    return (joins ?? []).filter((join) => !join.on).map((join) => join.table);
  }

  #confineWhere<T extends SelectQueryNode | UpdateQueryNode | DeleteQueryNode>(
    query: T,
    tables: readonly OperationNode[],
  ): T {
    const conditions = tables.flatMap((t) => {
      const table = this.#reference(t);
      return table === null ? [] : [this.#condition(table)];
    });
    if (conditions.length === 0) return query;
    // The query's own condition in parentheses: an `or` in it must not escape the confinement.
    let where: OperationNode | undefined = query.where ? ParensNode.create(query.where.where) : undefined;
    for (const condition of conditions) where = where ? AndNode.create(where, condition) : condition;
    return { ...query, where: WhereNode.create(where!) };
  }

  #condition(table: TableNode): OperationNode {
    return BinaryOperationNode.create(
      ReferenceNode.create(ColumnNode.create('environment'), table),
      OperatorNode.create('='),
      ValueNode.create(this.environment),
    );
  }

  /** How to name `node`'s table in a condition, when it is one of this schema's environment relations. */
  #reference(node: OperationNode): TableNode | null {
    if (AliasNode.is(node)) {
      if (!TableNode.is(node.node) || !this.#isScoped(node.node)) return null;
      return IdentifierNode.is(node.alias) ? TableNode.create(node.alias.name) : null;
    }
    return TableNode.is(node) && this.#isScoped(node) ? node : null;
  }

  #isScoped(table: TableNode): boolean {
    return table.table.schema?.name === this.schema && ENVIRONMENT_RELATIONS.has(table.table.identifier.name);
  }
}

/** The environment a handle made by `scopedToEnvironment` (or a transaction of it) is confined to. */
/** The environment a handle is confined to; null for the whole database's. */
export function environmentOrNull(db: Pick<Kysely<Database>, 'getExecutor'>): string | null {
  const scope = db.getExecutor().plugins.find((p) => p instanceof EnvironmentScopePlugin);
  return scope ? scope.environment : null;
}

export function environmentOf(db: Pick<Kysely<Database>, 'getExecutor'>): string {
  const scope = db.getExecutor().plugins.find((p) => p instanceof EnvironmentScopePlugin);
  if (!scope) throw new Error('this database handle is not confined to an environment');
  return scope.environment;
}
