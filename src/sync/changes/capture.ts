/**
 * The rows a writer may change, as they are: read (and locked) before its writes and again after
 * them, so the hooks get the net changes (`changesBetween`). One read serves the writer too: what
 * it captures carries each row's version (`versions`), which is what the planners decide against,
 * so with hooks registered the events path does not read and lock the same rows a second time.
 *
 * Tables are read in one order (connections, certificates, organizations, domains), rows by key,
 * so two transactions never wait on each other in a circle.
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
import type {
  CertificateSnapshot,
  ConnectionSnapshot,
  DomainSnapshot,
  OrganizationSnapshot,
  SourceOf,
  UnplacedChange,
} from './changes.ts';
import { certificateChanges, connectionChanges, domainChanges, organizationChanges } from './diff.ts';

export interface RowsCaptured {
  readonly connections: Map<string, ConnectionSnapshot>;
  /** The certificates asked for, by `certificateKey`. */
  readonly certificates: Map<string, CertificateSnapshot>;
  readonly organizations: Map<string, OrganizationSnapshot>;
  readonly domains: Map<string, DomainSnapshot>;
  /** The same rows' versions (and every certificate of the connections asked for), as `loadSnapshot` reads them. */
  readonly versions: MirrorSnapshot;
}

/** What a writer may change: `keys`, and with `connectionsOf` every connection of these organizations. */
export interface CaptureScope {
  readonly keys: RowKeys;
  readonly connectionsOf?: readonly string[] | undefined;
}

export async function captureRows(trx: Transaction<Database>, scope: CaptureScope): Promise<RowsCaptured> {
  const { keys, connectionsOf = [] } = scope;
  const captured: RowsCaptured = {
    connections: new Map(),
    certificates: new Map(),
    organizations: new Map(),
    domains: new Map(),
    versions: {
      connections: new Map(),
      certificates: new Map(),
      organizations: new Map(),
      domains: new Map(),
    },
  };
  const versions = captured.versions as {
    connections: Map<string, RowVersion>;
    certificates: Map<string, CertificateState>;
    organizations: Map<string, RowVersion>;
    domains: Map<string, DomainVersion>;
  };
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
        'c.observed_at',
        'c.source',
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
    for (const { deleted_at, observed_at, source, domains, ...row } of rows) {
      captured.connections.set(row.id, { ...row, domains: domains ?? [], deleted: deleted_at !== null });
      versions.connections.set(row.id, { updated_at: row.updated_at, deleted_at, observed_at, source });
    }
  }
  if (keys.certificates.length > 0) {
    const wanted = new Set(keys.certificates.map((key) => certificateKey(...key)));
    const rows = await trx
      .selectFrom('connection_certificates')
      .selectAll()
      .where('connection_id', '=', (eb) =>
        eb.fn.any(eb.val([...new Set(keys.certificates.map(([id]) => id))])),
      )
      .orderBy('connection_id')
      .orderBy('certificate_type')
      .forUpdate()
      .execute();
    for (const row of rows) {
      const key = certificateKey(row.connection_id, row.certificate_type);
      versions.certificates.set(key, row);
      if (wanted.has(key)) captured.certificates.set(key, certificateSnapshot(row));
    }
  }
  if (keys.organizations.length > 0) {
    const rows = await trx
      .selectFrom('organizations')
      .select([
        'id',
        'name',
        'external_id',
        'deleted_at',
        'updated_at',
        'observed_at',
        'source',
        'last_event_id',
      ])
      .where('id', '=', (eb) => eb.fn.any(eb.val([...keys.organizations])))
      .orderBy('id')
      .forUpdate()
      .execute();
    for (const { deleted_at, observed_at, source, ...row } of rows) {
      captured.organizations.set(row.id, { ...row, deleted: deleted_at !== null });
      versions.organizations.set(row.id, { updated_at: row.updated_at, deleted_at, observed_at, source });
    }
  }
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
        'observed_at',
        'source',
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
    for (const { deleted_at, observed_at, source, ...row } of rows) {
      captured.domains.set(row.id, { ...row, deleted: deleted_at !== null });
      const { id, organization_id, updated_at } = row;
      versions.domains.set(id, { id, organization_id, updated_at, deleted_at, observed_at, source });
    }
  }
  return captured;
}

function certificateSnapshot(row: CertificateState): CertificateSnapshot {
  return {
    connection_id: row.connection_id,
    certificate_type: row.certificate_type,
    organization_id: row.organization_id,
    expiry_date: row.expiry_date,
    is_expired: row.is_expired,
    days_until_expiry: row.days_until_expiry,
    renewed_at: row.renewed_at,
    renewal_required_at: row.renewal_required_at,
    fingerprint: row.fingerprint,
    last_event_id: row.last_event_id,
  };
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
): UnplacedChange[] {
  return [
    ...organizationChanges(before.organizations, after.organizations, sourceOf),
    ...domainChanges(before.domains, after.domains, sourceOf),
    ...connectionChanges(before.connections, after.connections, sourceOf),
    ...certificateChanges(before.certificates, after.certificates, sourceOf),
  ];
}
