/**
 * The events path's reads: the events a page may repeat, and the mirror rows it touches, locked
 * for the rest of the transaction (what it writes is `store.ts`).
 *
 * Id lists go as one array parameter (`= any($1)`), not one parameter per id: a statement whose
 * text does not grow with the batch is cheaper to build here and to parse in Postgres. Tables are
 * locked in one order (connections, certificates, organizations, domains), rows by key, so two
 * transactions never wait on each other in a circle.
 */
import { sql, type Transaction } from 'kysely';
import type { Database } from '../../db/tables.ts';
import {
  type CertificateState,
  certificateKey,
  type DomainVersion,
  type MirrorSnapshot,
  type RowKeys,
  type RowVersion,
} from '../mirror/rows.ts';
import type { ParsedItem } from './parse-event.ts';
import type { StoredEvent } from './plan-page.ts';

export async function loadSeenEvents(
  trx: Transaction<Database>,
  ids: readonly string[],
): Promise<Map<string, StoredEvent>> {
  if (ids.length === 0) return new Map();
  // One probe of the events' key per id: a lateral subquery (its `limit 1` keeps it from being
  // flattened into a join the planner may turn into a scan). Not `where id = any($1)`: with the
  // key led by `environment`, a table without statistics yet — a fresh mirror's whole backfill,
  // before autovacuum first analyzes `events` — has the planner take `environment = $2` for
  // selective, read every row of the environment through an index led by it, and test each
  // against the whole list (BENCHMARKS.md's local backfill: Postgres's CPU tripled).
  const rows = await trx
    .selectFrom(sql<{ id: string }>`unnest(${[...ids]}::text[])`.as<'seen'>(sql`seen(id)`))
    .innerJoinLateral(
      (eb) =>
        eb
          .selectFrom('events')
          .select(['id', 'event', 'data'])
          .whereRef('events.id', '=', 'seen.id')
          .limit(1)
          .as('e'),
      (join) => join.onTrue(),
    )
    .select(['e.id', 'e.event', 'e.data'])
    .execute();
  return new Map(rows.map((r) => [r.id, { event: r.event, data: r.data }]));
}

/** Every row the valid events of a page read. */
export function rowsTouched(items: readonly ParsedItem[]): RowKeys {
  const sets = {
    connections: new Set<string>(),
    organizations: new Set<string>(),
    domains: new Set<string>(),
    domainSets: new Set<string>(),
  };
  const certificates = new Map<string, readonly [string, string]>();
  for (const item of items) {
    if (item.status !== 'valid') continue;
    for (const id of item.touches.connections) sets.connections.add(id);
    for (const key of item.touches.certificates) certificates.set(certificateKey(...key), key);
    for (const id of item.touches.organizations) sets.organizations.add(id);
    for (const id of item.touches.domains) sets.domains.add(id);
    for (const id of item.touches.domainSets) sets.domainSets.add(id);
  }
  return {
    connections: [...sets.connections],
    certificates: [...certificates.values()],
    organizations: [...sets.organizations],
    domains: [...sets.domains],
    domainSets: [...sets.domainSets],
  };
}

/**
 * The stored versions of `rows`, locked until the transaction ends. A row that does not exist
 * cannot be locked: another transaction may insert it before this one writes (the verdict of
 * `writeVersions` catches that).
 */
export async function loadSnapshot(trx: Transaction<Database>, rows: RowKeys): Promise<MirrorSnapshot> {
  const connections = new Map<string, RowVersion>();
  if (rows.connections.length > 0) {
    const stored = await trx
      .selectFrom('connections')
      .select(['id', 'updated_at', 'deleted_at', 'observed_at', 'source'])
      .where('id', '=', (eb) => eb.fn.any(eb.val(rows.connections)))
      .orderBy('id')
      .forUpdate()
      .execute();
    for (const { id, ...version } of stored) connections.set(id, version);
  }

  const certificates = new Map<string, CertificateState>();
  if (rows.certificates.length > 0) {
    const stored = await trx
      .selectFrom('connection_certificates')
      .selectAll()
      .where('connection_id', '=', (eb) =>
        eb.fn.any(eb.val([...new Set(rows.certificates.map(([id]) => id))])),
      )
      .orderBy('connection_id')
      .orderBy('certificate_type')
      .forUpdate()
      .execute();
    for (const row of stored) certificates.set(certificateKey(row.connection_id, row.certificate_type), row);
  }

  const organizations = new Map<string, RowVersion>();
  if (rows.organizations.length > 0) {
    const stored = await trx
      .selectFrom('organizations')
      .select(['id', 'updated_at', 'deleted_at', 'observed_at', 'source'])
      .where('id', '=', (eb) => eb.fn.any(eb.val(rows.organizations)))
      .orderBy('id')
      .forUpdate()
      .execute();
    for (const { id, ...version } of stored) organizations.set(id, version);
  }

  const domains = new Map<string, DomainVersion>();
  if (rows.domains.length > 0 || rows.domainSets.length > 0) {
    const stored = await trx
      .selectFrom('organization_domains')
      .select(['id', 'organization_id', 'updated_at', 'deleted_at', 'observed_at', 'source'])
      .where((eb) =>
        eb.or([
          eb('id', '=', eb.fn.any(eb.val([...rows.domains]))),
          eb('organization_id', '=', eb.fn.any(eb.val([...rows.domainSets]))),
        ]),
      )
      .orderBy('id')
      .forUpdate()
      .execute();
    for (const row of stored) domains.set(row.id, row);
  }
  return { connections, certificates, organizations, domains };
}
