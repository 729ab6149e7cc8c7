/**
 * Reporting what a batch changed, from inside its transaction:
 * - to the application's `onChange` hooks, with the net changes (changes.ts). Only when hooks are
 *   registered are the rows read before and after the writes: with none, a batch costs nothing more;
 * - to anyone who LISTENs, by a NOTIFY sent in the same transaction, so it is delivered when the
 *   batch commits and never when it rolls back. Its payload is small: what kind of change, how
 *   many, the cursor or the run, and the connection ids when there are few.
 */
import { sql, type Transaction } from 'kysely';
import type { Database } from '../../db/tables.ts';
import { RetryableError } from '../../errors.ts';
import type { PagePlan } from '../events/plan-page.ts';
import { certificateKey, type RowKeys, rowKey } from '../mirror/rows.ts';
import {
  type CertificateSnapshot,
  type ChangeHook,
  type ChangeSource,
  type ConnectionSnapshot,
  certificateChanges,
  connectionChanges,
  type DomainSnapshot,
  domainChanges,
  type MirrorChange,
  type OrganizationSnapshot,
  organizationChanges,
  type SourceOf,
} from './changes.ts';

export interface ChangeReporting {
  /** The hooks registered now: read at every batch, so one added later takes part from the next. */
  readonly hooks: () => readonly ChangeHook[];
  /** Where changes are announced (`<schema>_changes`); null for nowhere. */
  readonly channel: string | null;
}

/** The rows a batch may change, as they are: read before its writes (locked) and after them. */
export interface RowsCaptured {
  readonly connections: Map<string, ConnectionSnapshot>;
  readonly certificates: Map<string, CertificateSnapshot>;
  readonly organizations: Map<string, OrganizationSnapshot>;
  readonly domains: Map<string, DomainSnapshot>;
}

/** `keys`, and with `connectionsOf` every connection of these organizations (a refresh may change any). */
export async function captureRows(
  trx: Transaction<Database>,
  keys: RowKeys,
  connectionsOf: readonly string[] = [],
): Promise<RowsCaptured> {
  const connections = new Map<string, ConnectionSnapshot>();
  if (keys.connections.length > 0 || connectionsOf.length > 0) {
    const rows = await trx
      .selectFrom('connections as c')
      .select([
        'c.id',
        'c.organization_id',
        'c.connection_type',
        'c.name',
        'c.state',
        'c.updated_at',
        'c.deleted_at',
        'c.last_event_id',
        (eb) =>
          eb
            .selectFrom('connection_domains as d')
            .select(sql<string[]>`coalesce(array_agg(d.domain order by d.domain), '{}')`.as('domains'))
            .whereRef('d.connection_id', '=', 'c.id')
            .as('domains'),
      ])
      .where((eb) =>
        eb.or([
          eb('c.id', '=', eb.fn.any(eb.val([...keys.connections]))),
          eb('c.organization_id', '=', eb.fn.any(eb.val([...connectionsOf]))),
        ]),
      )
      .orderBy('c.id')
      .forUpdate()
      .execute();
    for (const { deleted_at, domains, ...row } of rows)
      connections.set(row.id, { ...row, domains: domains ?? [], deleted: deleted_at !== null });
  }
  const certificates = new Map<string, CertificateSnapshot>();
  if (keys.certificates.length > 0) {
    const wanted = new Set(keys.certificates.map((key) => certificateKey(...key)));
    const rows = await trx
      .selectFrom('connection_certificates')
      .select([
        'connection_id',
        'certificate_type',
        'organization_id',
        'expiry_date',
        'is_expired',
        'days_until_expiry',
        'renewed_at',
        'renewal_required_at',
        'fingerprint',
        'last_event_id',
      ])
      .where('connection_id', '=', (eb) =>
        eb.fn.any(eb.val([...new Set(keys.certificates.map(([id]) => id))])),
      )
      .orderBy('connection_id')
      .orderBy('certificate_type')
      .forUpdate()
      .execute();
    for (const row of rows) {
      const key = certificateKey(row.connection_id, row.certificate_type);
      if (wanted.has(key)) certificates.set(key, row);
    }
  }
  const organizations = new Map<string, OrganizationSnapshot>();
  if (keys.organizations.length > 0) {
    const rows = await trx
      .selectFrom('organizations')
      .select(['id', 'name', 'external_id', 'deleted_at', 'updated_at', 'last_event_id'])
      .where('id', '=', (eb) => eb.fn.any(eb.val([...keys.organizations])))
      .orderBy('id')
      .forUpdate()
      .execute();
    for (const { deleted_at, ...row } of rows)
      organizations.set(row.id, { ...row, deleted: deleted_at !== null });
  }
  const domains = new Map<string, DomainSnapshot>();
  if (keys.domains.length > 0 || keys.domainSets.length > 0) {
    const rows = await trx
      .selectFrom('organization_domains')
      .select([
        'id',
        'organization_id',
        'domain',
        'state',
        'verification_strategy',
        'deleted_at',
        'updated_at',
        'last_event_id',
      ])
      .where((eb) =>
        eb.or([
          eb('id', '=', eb.fn.any(eb.val([...keys.domains]))),
          eb('organization_id', '=', eb.fn.any(eb.val([...keys.domainSets]))),
        ]),
      )
      .orderBy('id')
      .forUpdate()
      .execute();
    for (const { deleted_at, ...row } of rows) domains.set(row.id, { ...row, deleted: deleted_at !== null });
  }
  return { connections, certificates, organizations, domains };
}

/** Adds rows captured later (rows another transaction wrote meanwhile) to a capture. */
export function mergeCaptured(into: RowsCaptured, rows: RowsCaptured): void {
  for (const [id, row] of rows.connections) into.connections.set(id, row);
  for (const [key, row] of rows.certificates) into.certificates.set(key, row);
  for (const [id, row] of rows.organizations) into.organizations.set(id, row);
  for (const [id, row] of rows.domains) into.domains.set(id, row);
}

/** The net changes between two captures of the same rows. */
export function changesBetween(
  before: RowsCaptured,
  after: RowsCaptured,
  sourceOf: SourceOf,
): MirrorChange[] {
  return [
    ...organizationChanges(before.organizations, after.organizations, sourceOf),
    ...domainChanges(before.domains, after.domains, sourceOf),
    ...connectionChanges(before.connections, after.connections, sourceOf),
    ...certificateChanges(before.certificates, after.certificates, sourceOf),
  ];
}

/** Each hook in turn, in the batch's transaction. One that throws fails the batch: a transient failure of its own kind. */
export async function runHooks(
  trx: Transaction<Database>,
  hooks: readonly ChangeHook[],
  changes: readonly MirrorChange[],
): Promise<void> {
  if (changes.length === 0) return;
  for (const hook of hooks) {
    try {
      await hook(trx, changes);
    } catch (error) {
      const message = error instanceof Error ? error.message : String(error);
      throw new RetryableError(`an onChange hook failed: ${message}`, 'hook', { cause: error });
    }
  }
}

export interface ChangeNotice {
  readonly source: 'events' | 'reconciliation';
  /** The cursor once the batch commits (events), or the reconciliation's run. */
  readonly cursor?: string | undefined;
  readonly runId?: string | undefined;
  /** Applied events by type, or reconciliation writes by kind. */
  readonly counts: Readonly<Record<string, number>>;
  /** The connections written. */
  readonly connectionIds: readonly string[];
  /** The organizations whose row or domains were written. */
  readonly organizationIds?: readonly string[] | undefined;
}

/** Ids in a notice at most; past that only the counts (a NOTIFY payload must stay under 8000 bytes). */
const IDS_IN_A_NOTICE = 50;

export async function notifyChanges(
  trx: Transaction<Database>,
  channel: string | null,
  notice: ChangeNotice,
): Promise<void> {
  if (channel === null || Object.keys(notice.counts).length === 0) return;
  const { connectionIds, organizationIds = [], ...rest } = notice;
  const payload = JSON.stringify({
    ...rest,
    connections: connectionIds.length,
    ...(connectionIds.length <= IDS_IN_A_NOTICE ? { connectionIds } : {}),
    ...(organizationIds.length > 0 ? { organizations: organizationIds.length } : {}),
    ...(organizationIds.length > 0 && organizationIds.length <= IDS_IN_A_NOTICE ? { organizationIds } : {}),
  });
  await sql`select pg_notify(${channel}, ${payload})`.execute(trx);
}

/** A batch's changes in the order of the events that made them (the stream's order). */
export function inEventOrder(plans: readonly PagePlan[], changes: MirrorChange[]): MirrorChange[] {
  const position = new Map<string, number>();
  for (const plan of plans) for (const record of plan.records) position.set(record.id, position.size);
  const at = (c: MirrorChange) => ('eventId' in c.source ? (position.get(c.source.eventId) ?? -1) : -1);
  return changes.sort((a, b) => at(a) - at(b));
}

/**
 * What wrote each row of a batch of events: the event whose write the plan kept last (not the
 * row's `last_event_id`: an older event that only adds its notice to a listed certificate keeps
 * the listing's), or, for a row a refresh wrote after the events, the refresh (`refreshed`).
 */
export function eventSourceOf(
  plans: readonly PagePlan[],
  refreshed: ReadonlyMap<string, ChangeSource> = new Map(),
): SourceOf {
  const types = new Map<string, string>();
  const writers = new Map<string, string>();
  for (const plan of plans) {
    for (const record of plan.records) types.set(record.id, record.event);
    for (const [key, eventId] of plan.writers) writers.set(key, eventId);
  }
  return (table, key, row) => {
    const source = refreshed.get(rowKey(table, key));
    if (source) return source;
    const eventId = writers.get(rowKey(table, key)) ?? row.last_event_id ?? '';
    return { kind: 'event', eventId, event: types.get(eventId) ?? '(unknown)' };
  };
}

/** A batch of events announced: applied events by type, and the rows it wrote. */
export function eventNotice(
  plans: readonly PagePlan[],
  cursor: string,
  refreshedConnections: Iterable<string> = [],
): ChangeNotice {
  const counts: Record<string, number> = {};
  const ids = new Set<string>(refreshedConnections);
  const organizations = new Set<string>();
  for (const plan of plans) {
    for (const record of plan.records)
      if (record.outcome === 'applied') counts[record.event] = (counts[record.event] ?? 0) + 1;
    for (const c of plan.connections) ids.add(c.id);
    for (const d of plan.deletions) ids.add(d.id);
    for (const c of plan.certificates) ids.add(c.connection_id);
    for (const o of plan.organizations) organizations.add(o.id);
    for (const o of plan.organizationDeletions) organizations.add(o.id);
    for (const d of plan.organizationDomains) organizations.add(d.organization_id);
  }
  return { source: 'events', cursor, counts, connectionIds: [...ids], organizationIds: [...organizations] };
}

/** The channel a schema's changes are announced on. */
export function changesChannel(schema: string): string {
  return `${schema}_changes`;
}
