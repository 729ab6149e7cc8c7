/**
 * Reads the mirror rows a page touches (locking them for the rest of the transaction) and writes
 * a page's plan, one batched statement per table. Every write keeps a version guard in SQL too,
 * so the monotonic invariant holds at the database whoever else writes.
 *
 * Id lists go as one array parameter (`= any($1)`), not one parameter per id: a statement whose
 * text does not grow with the batch is cheaper to build here and to parse in Postgres.
 */
import { sql, type Transaction } from 'kysely';
import { toJsonb } from '../db/json.ts';
import type { Database } from '../db/tables.ts';
import { takeIncomingCertificate } from './certificate-row.ts';
import { takeIncomingConnection } from './connection-row.ts';
import { type CertificateState, type ConnectionVersion, certificateKey } from './mirror.ts';
import type { ParsedItem } from './parse-event.ts';
import type { MirrorSnapshot, PagePlan, StoredEvent } from './plan-page.ts';

export async function loadSeenEvents(
  trx: Transaction<Database>,
  ids: readonly string[],
): Promise<Map<string, StoredEvent>> {
  if (ids.length === 0) return new Map();
  const rows = await trx
    .selectFrom('events')
    .select(['id', 'event', 'data'])
    .where('id', '=', (eb) => eb.fn.any(eb.val(ids)))
    .execute();
  return new Map(rows.map((r) => [r.id, { event: r.event, data: r.data }]));
}

export async function loadSnapshot(
  trx: Transaction<Database>,
  items: readonly ParsedItem[],
): Promise<MirrorSnapshot> {
  const connectionIds = new Set<string>();
  const certificateKeys = new Map<string, readonly [string, string]>();
  for (const item of items) {
    if (item.status !== 'valid') continue;
    for (const id of item.touches.connections) connectionIds.add(id);
    for (const key of item.touches.certificates) certificateKeys.set(certificateKey(...key), key);
  }

  const connections = new Map<string, ConnectionVersion>();
  if (connectionIds.size > 0) {
    const rows = await trx
      .selectFrom('connections')
      .select(['id', 'updated_at', 'deleted_at'])
      .where('id', '=', (eb) => eb.fn.any(eb.val([...connectionIds])))
      .orderBy('id')
      .forUpdate()
      .execute();
    for (const row of rows)
      connections.set(row.id, { updated_at: row.updated_at, deleted_at: row.deleted_at });
  }

  const certificates = new Map<string, CertificateState>();
  if (certificateKeys.size > 0) {
    const ids = [...new Set([...certificateKeys.values()].map(([id]) => id))];
    const rows = await trx
      .selectFrom('connection_certificates')
      .selectAll()
      .where('connection_id', '=', (eb) => eb.fn.any(eb.val(ids)))
      .orderBy('connection_id')
      .orderBy('certificate_type')
      .forUpdate()
      .execute();
    for (const row of rows) certificates.set(certificateKey(row.connection_id, row.certificate_type), row);
  }
  return { connections, certificates };
}

export async function writePlan(trx: Transaction<Database>, plan: PagePlan): Promise<void> {
  if (plan.connections.length > 0) {
    await trx
      .insertInto('connections')
      .values(plan.connections.map((c) => ({ ...c, raw: jsonbText(c.raw), source: 'event' as const })))
      .onConflict((oc) =>
        oc
          .column('id')
          .doUpdateSet(takeIncomingConnection())
          .where('connections.deleted_at', 'is', null)
          .where('connections.updated_at', '<=', (eb) => eb.ref('excluded.updated_at')),
      )
      .execute();
  }

  // Deletions of rows newer than their deletion payload are rare: one statement each is fine.
  for (const deletion of plan.deletions) {
    await trx
      .updateTable('connections')
      .set({
        deleted_at: deletion.deleted_at,
        last_event_id: deletion.last_event_id,
        source: 'event',
        synced_at: sql<Date>`clock_timestamp()`,
      })
      .where('id', '=', deletion.id)
      .where('deleted_at', 'is', null)
      .execute();
  }

  if (plan.domains.size > 0) {
    await trx
      .deleteFrom('connection_domains')
      .where('connection_id', '=', (eb) => eb.fn.any(eb.val([...plan.domains.keys()])))
      .execute();
    const rows = new Map<string, { id: string; connection_id: string; domain: string }>();
    for (const [connectionId, domains] of plan.domains) {
      for (const d of domains) rows.set(d.id, { id: d.id, connection_id: connectionId, domain: d.domain });
    }
    if (rows.size > 0) {
      await trx
        .insertInto('connection_domains')
        .values([...rows.values()])
        .onConflict((oc) =>
          oc.column('id').doUpdateSet((eb) => ({
            connection_id: eb.ref('excluded.connection_id'),
            domain: eb.ref('excluded.domain'),
          })),
        )
        .execute();
    }
  }

  if (plan.certificates.length > 0) {
    await trx
      .insertInto('connection_certificates')
      .values(plan.certificates.map((c) => ({ ...c })))
      .onConflict((oc) =>
        oc
          .columns(['connection_id', 'certificate_type'])
          .doUpdateSet(takeIncomingCertificate({ notices: true }))
          .where('connection_certificates.version_at', '<=', (eb) => eb.ref('excluded.version_at')),
      )
      .execute();
  }

  if (plan.records.length > 0) {
    // Every event of the batch in one JSON document that Postgres unpacks: one parameter instead
    // of seven per event. Measured on batches of 1,000 events, that halved the client's CPU for
    // this statement and cut Postgres's by a quarter. Array order is `seq` order. `toJsonb`
    // keeps a NUL escape in `data` storable, as elsewhere.
    const rows = jsonbText(
      plan.records.map((r) => ({
        id: r.id,
        event: r.event,
        created_at: r.created_at,
        data: r.data,
        context: r.context,
        outcome: r.outcome,
        error: r.error,
      })),
    );
    await trx
      .insertInto('events')
      .columns(['id', 'event', 'created_at', 'data', 'context', 'outcome', 'error'])
      .expression(
        sql`select id, event, created_at, data, context, outcome, error
          from rows from (jsonb_to_recordset(${rows}::jsonb) as (id text, event text,
            created_at timestamptz, data jsonb, context jsonb, outcome text, error text))
          with ordinality as r(id, event, created_at, data, context, outcome, error, position)
          order by position`,
      )
      .onConflict((oc) => oc.column('id').doNothing())
      .execute();
  }
}

/** `toJsonb`, minus its NUL-escape scan where there is no NUL escape (nearly always). */
function jsonbText(value: unknown): string {
  const text = JSON.stringify(value);
  return text.includes('\\u0000') ? toJsonb(value) : text;
}
