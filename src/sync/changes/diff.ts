/**
 * Rows as they were before a batch's writes and after them → the typed net changes the hooks get
 * (`changes.ts`). Pure.
 *
 * One change per row and batch, whatever number of events wrote it, and only when something a
 * user sees differs (a version that only advanced is no change). A connection's kind is the most
 * significant of what happened to it: deleted, resurrected, inserted, activated, deactivated,
 * updated; `fields` lists everything that differs. A certificate "started needing renewal" when it
 * carries a renewal notice it did not carry before; otherwise it "changed" (a new expiry or
 * certificate).
 */
import type {
  CertificateChange,
  CertificateSnapshot,
  ConnectionChange,
  ConnectionChangeKind,
  ConnectionSnapshot,
  DomainChange,
  DomainChangeKind,
  DomainSnapshot,
  OrganizationChange,
  OrganizationChangeKind,
  OrganizationSnapshot,
  SourceOf,
  UnplacedChange,
} from './changes.ts';

const CONNECTION_FIELDS = ['name', 'state', 'organization_id', 'connection_type'] as const;
const CERTIFICATE_FIELDS = [
  'expiry_date',
  'fingerprint',
  'renewed_at',
  'renewal_required_at',
  'is_expired',
] as const;

export function connectionChanges(
  before: ReadonlyMap<string, ConnectionSnapshot>,
  after: ReadonlyMap<string, ConnectionSnapshot>,
  sourceOf: SourceOf,
): UnplacedChange<ConnectionChange>[] {
  const changes: UnplacedChange<ConnectionChange>[] = [];
  for (const [id, now] of after) {
    const was = before.get(id) ?? null;
    const fields: string[] = was
      ? CONNECTION_FIELDS.filter((f) => was[f] !== now[f])
      : [...CONNECTION_FIELDS];
    if (!was || was.domains.join('\n') !== now.domains.join('\n')) fields.push('domains');
    if ((was?.deleted ?? false) !== now.deleted) fields.push('deleted');
    if (was && fields.length === 0) continue;
    changes.push({
      type: 'connection',
      kind: connectionKind(was, now),
      connectionId: id,
      organizationId: now.organization_id,
      before: was,
      after: now,
      fields,
      source: sourceOf('connection', id, now),
    });
  }
  return changes;
}

function connectionKind(was: ConnectionSnapshot | null, now: ConnectionSnapshot): ConnectionChangeKind {
  if (now.deleted) return 'deleted';
  if (was?.deleted) return 'resurrected';
  if (!was) return 'inserted';
  if (now.state === 'active' && was.state !== 'active') return 'activated';
  if (was.state === 'active' && now.state !== 'active') return 'deactivated';
  return 'updated';
}

export function certificateChanges(
  before: ReadonlyMap<string, CertificateSnapshot>,
  after: ReadonlyMap<string, CertificateSnapshot>,
  sourceOf: SourceOf,
): UnplacedChange<CertificateChange>[] {
  const changes: UnplacedChange<CertificateChange>[] = [];
  for (const [key, now] of after) {
    const was = before.get(key) ?? null;
    // A certificate new to the mirror: the fields it has.
    const fields: string[] = CERTIFICATE_FIELDS.filter((f) =>
      was ? !same(was[f], now[f]) : now[f] !== null,
    );
    if (fields.length === 0) continue;
    const notice =
      now.renewal_required_at !== null &&
      (was?.renewal_required_at == null ||
        was.renewal_required_at.getTime() !== now.renewal_required_at.getTime());
    changes.push({
      type: 'certificate',
      kind: notice ? 'renewal_required' : 'changed',
      connectionId: now.connection_id,
      organizationId: now.organization_id,
      certificateType: now.certificate_type,
      before: was,
      after: now,
      fields,
      source: sourceOf('certificate', key, now),
    });
  }
  return changes;
}

const ORGANIZATION_FIELDS = ['name', 'external_id'] as const;

export function organizationChanges(
  before: ReadonlyMap<string, OrganizationSnapshot>,
  after: ReadonlyMap<string, OrganizationSnapshot>,
  sourceOf: SourceOf,
): UnplacedChange<OrganizationChange>[] {
  const changes: UnplacedChange<OrganizationChange>[] = [];
  for (const [id, now] of after) {
    const was = before.get(id) ?? null;
    const fields: string[] = ORGANIZATION_FIELDS.filter((f) => !was || was[f] !== now[f]);
    if ((was?.deleted ?? false) !== now.deleted) fields.push('deleted');
    if (was && fields.length === 0) continue;
    const kind: OrganizationChangeKind = now.deleted
      ? 'deleted'
      : was?.deleted
        ? 'resurrected'
        : was
          ? 'updated'
          : 'inserted';
    changes.push({
      type: 'organization',
      kind,
      organizationId: id,
      before: was,
      after: now,
      fields,
      source: sourceOf('organization', id, now),
    });
  }
  return changes;
}

const DOMAIN_FIELDS = ['domain', 'state', 'verification_strategy', 'organization_id'] as const;
const VERIFIED_STATES: readonly (string | null)[] = ['verified', 'legacy_verified'];

export function domainChanges(
  before: ReadonlyMap<string, DomainSnapshot>,
  after: ReadonlyMap<string, DomainSnapshot>,
  sourceOf: SourceOf,
): UnplacedChange<DomainChange>[] {
  const changes: UnplacedChange<DomainChange>[] = [];
  for (const [id, now] of after) {
    const was = before.get(id) ?? null;
    const fields: string[] = DOMAIN_FIELDS.filter((f) => !was || was[f] !== now[f]);
    if ((was?.deleted ?? false) !== now.deleted) fields.push('deleted');
    if (was && fields.length === 0) continue;
    changes.push({
      type: 'domain',
      kind: domainKind(was, now),
      domainId: id,
      domain: now.domain,
      organizationId: now.organization_id,
      before: was,
      after: now,
      fields,
      source: sourceOf('domain', id, now),
    });
  }
  return changes;
}

function domainKind(was: DomainSnapshot | null, now: DomainSnapshot): DomainChangeKind {
  if (now.deleted) return 'removed';
  if (!was || was.deleted) return 'added';
  if (VERIFIED_STATES.includes(now.state) && !VERIFIED_STATES.includes(was.state)) return 'verified';
  if (now.state === 'failed' && was.state !== 'failed') return 'verification_failed';
  return 'updated';
}

function same(a: unknown, b: unknown): boolean {
  if (a instanceof Date && b instanceof Date) return a.getTime() === b.getTime();
  return a === b;
}
