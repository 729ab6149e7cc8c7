/**
 * What the mirror should hold after applying an emulator's whole event log, derived from the
 * log itself (the last connection event per connection wins, certificates by event time) and
 * cross-checked against the emulator's own state; and the same view read from the tables.
 */
import type { Kysely } from 'kysely';
import { expect } from 'vitest';
import type { WorkosModel } from '../../emulator/index.ts';
import type { Database } from '../../src/db/tables.ts';

export interface MirrorContents {
  connections: {
    id: string;
    state: string;
    name: string;
    organization_id: string | null;
    connection_type: string;
    updated_at: string;
    deleted: boolean;
  }[];
  domains: { id: string; connection_id: string; domain: string }[];
  certificates: {
    connection_id: string;
    certificate_type: string;
    expiry_date: string;
    renewed_at: string | null;
    renewal_required_at: string | null;
  }[];
}

export async function mirrorOf(db: Kysely<Database>): Promise<MirrorContents> {
  const connections = await db.selectFrom('connections').selectAll().orderBy('id').execute();
  const domains = await db.selectFrom('connection_domains').selectAll().orderBy('id').execute();
  const certificates = await db
    .selectFrom('connection_certificates')
    .selectAll()
    .orderBy('connection_id')
    .orderBy('certificate_type')
    .execute();
  return {
    connections: connections.map((c) => ({
      id: c.id,
      state: c.state,
      name: c.name,
      organization_id: c.organization_id,
      connection_type: c.connection_type,
      updated_at: c.updated_at.toISOString(),
      deleted: c.deleted_at !== null,
    })),
    domains: domains.map((d) => ({ id: d.id, connection_id: d.connection_id, domain: d.domain })),
    certificates: certificates.map((c) => ({
      connection_id: c.connection_id,
      certificate_type: c.certificate_type,
      expiry_date: c.expiry_date.toISOString(),
      renewed_at: c.renewed_at?.toISOString() ?? null,
      renewal_required_at: c.renewal_required_at?.toISOString() ?? null,
    })),
  };
}

// biome-ignore lint/suspicious/noExplicitAny: event payloads are read loosely here.
type Payload = any;

export function expectedMirror(model: WorkosModel): MirrorContents {
  const last = new Map<string, { event: string; data: Payload }>();
  const domainsOf = new Map<string, Payload[]>();
  for (const e of model.events()) {
    if (
      e.event === 'connection.activated' ||
      e.event === 'connection.deactivated' ||
      e.event === 'connection.deleted'
    ) {
      const data = e.data as Payload;
      if (
        typeof data?.id === 'string' &&
        typeof data.updated_at === 'string' &&
        last.get(data.id)?.event !== 'connection.deleted'
      ) {
        last.set(data.id, { event: e.event, data });
        // A payload without domains (deletions may omit them) leaves the known set as it was.
        if (Array.isArray(data.domains)) domainsOf.set(data.id, data.domains);
      }
    }
  }
  const connections = [...last.entries()]
    .sort(([a], [b]) => (a < b ? -1 : 1))
    .map(([id, { event, data }]) => ({
      id,
      state: data.state,
      name: data.name,
      organization_id: data.organization_id ?? null,
      connection_type: data.connection_type,
      updated_at: new Date(data.updated_at).toISOString(),
      deleted: event === 'connection.deleted',
    }));

  // Cross-check with the emulator's state: deleted there ⇔ tombstoned here.
  const deletedInModel = new Set(model.deletedConnections().map((c) => c.connection.id));
  for (const c of connections) expect(deletedInModel.has(c.id), c.id).toBe(c.deleted);

  const domains = [...domainsOf.entries()]
    .flatMap(([id, list]) => list.map((d: Payload) => ({ id: d.id, connection_id: id, domain: d.domain })))
    .sort((a, b) => (a.id < b.id ? -1 : 1));

  // Certificates: in log order (strictly increasing event time), each event replaces the
  // certificate; the timestamps of the other kind survive only for the same certificate.
  const certs = new Map<string, MirrorContents['certificates'][number]>();
  for (const e of model.events()) {
    if (
      e.event !== 'connection.saml_certificate_renewed' &&
      e.event !== 'connection.saml_certificate_renewal_required'
    )
      continue;
    const data = e.data as Payload;
    const key = `${data.connection.id}\u0000${data.certificate.certificate_type}`;
    const before = certs.get(key);
    const expiry = new Date(data.certificate.expiry_date).toISOString();
    const same = before?.expiry_date === expiry;
    const renewed = e.event === 'connection.saml_certificate_renewed';
    certs.set(key, {
      connection_id: data.connection.id,
      certificate_type: data.certificate.certificate_type,
      expiry_date: expiry,
      renewed_at: renewed ? new Date(data.renewed_at).toISOString() : same ? before.renewed_at : null,
      renewal_required_at: renewed
        ? same
          ? before.renewal_required_at
          : null
        : new Date(String(e.created_at)).toISOString(),
    });
  }
  const certificates = [...certs.values()].sort((a, b) =>
    a.connection_id === b.connection_id
      ? a.certificate_type < b.certificate_type
        ? -1
        : 1
      : a.connection_id < b.connection_id
        ? -1
        : 1,
  );
  // Cross-check with the emulator's own state: the same certificates, the same expiries.
  const modelExpiries = model
    .certificates()
    .map((c) => `${c.connection_id}/${c.certificate_type}/${new Date(c.expiry_date).toISOString()}`)
    .sort();
  expect(certificates.map((c) => `${c.connection_id}/${c.certificate_type}/${c.expiry_date}`).sort()).toEqual(
    modelExpiries,
  );
  return { connections, domains, certificates };
}
