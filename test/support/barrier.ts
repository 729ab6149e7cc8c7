/**
 * Forcing a bad interleaving instead of hoping for it: a Kysely plugin that holds one statement's
 * result, after the statement ran (its transaction still open, its locks held), until the test
 * lets it go. Between `reached` and `release()` the test does what the other transaction does.
 */
import type { Kysely, KyselyPlugin, OperationNode, QueryId, RootOperationNode } from 'kysely';

export interface Barrier<DB> {
  /** The handle whose matching statement stops; everything else runs as usual. */
  readonly db: Kysely<DB>;
  /** Resolves once the first matching statement has run. */
  readonly reached: Promise<void>;
  release(): void;
}

export function pauseAfter<DB>(db: Kysely<DB>, matches: (node: RootOperationNode) => boolean): Barrier<DB> {
  let arrive!: () => void;
  let release!: () => void;
  const reached = new Promise<void>((resolve) => {
    arrive = resolve;
  });
  const released = new Promise<void>((resolve) => {
    release = resolve;
  });
  const held = new WeakSet<QueryId>();
  let armed = true;
  const plugin: KyselyPlugin = {
    transformQuery({ node, queryId }) {
      if (armed && matches(node)) {
        armed = false;
        held.add(queryId);
      }
      return node;
    },
    async transformResult({ result, queryId }) {
      if (held.has(queryId)) {
        arrive();
        await released;
      }
      return result;
    },
  };
  return { db: db.withPlugin(plugin), reached, release };
}

/** `select … from <table> … for update`: the events path's snapshot read of that table. */
export function lockingReadOf(table: string): (node: RootOperationNode) => boolean {
  return (node) =>
    node.kind === 'SelectQueryNode' &&
    node.from?.froms.some((from) => tableName(from) === table) === true &&
    node.endModifiers?.some((m) => m.modifier === 'ForUpdate') === true;
}

/** `insert into <table> …`, `update <table> …`: a write to that table. */
export function writeTo(table: string): (node: RootOperationNode) => boolean {
  return (node) =>
    (node.kind === 'InsertQueryNode' && tableName(node.into) === table) ||
    (node.kind === 'UpdateQueryNode' && tableName(node.table) === table);
}

function tableName(node: OperationNode | undefined): string | undefined {
  return node?.kind === 'TableNode'
    ? (node as unknown as { table: { identifier: { name: string } } }).table.identifier.name
    : undefined;
}
