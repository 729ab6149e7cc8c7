/**
 * The mirror as the page planner folds it (`plan-page.ts`): the rows loaded for the page, under
 * the writes planned so far, so each event is decided against what the events before it left.
 */
import {
  type CertificateState,
  certificateKey,
  type DomainVersion,
  type MirrorSnapshot,
  type MirrorView,
  type PlannedWrite,
  type RowVersion,
  type Tombstone,
} from '../mirror/rows.ts';

/** The mirror as of the events folded so far: the loaded snapshot under this page's writes. */
export class Overlay implements MirrorView {
  readonly #connections: Map<string, RowVersion>;
  readonly #certificates: Map<string, CertificateState>;
  readonly #organizations: Map<string, RowVersion>;
  readonly #domains: Map<string, DomainVersion>;

  constructor(snapshot: MirrorSnapshot) {
    this.#connections = new Map(snapshot.connections);
    this.#certificates = new Map(snapshot.certificates);
    this.#organizations = new Map(snapshot.organizations);
    this.#domains = new Map(snapshot.domains);
  }

  connection(id: string): RowVersion | undefined {
    return this.#connections.get(id);
  }

  certificate(connectionId: string, certificateType: string): CertificateState | undefined {
    return this.#certificates.get(certificateKey(connectionId, certificateType));
  }

  organization(id: string): RowVersion | undefined {
    return this.#organizations.get(id);
  }

  domain(id: string): DomainVersion | undefined {
    return this.#domains.get(id);
  }

  liveDomainsOf(organizationId: string): DomainVersion[] {
    return [...this.#domains.values()].filter(
      (d) => d.organization_id === organizationId && d.deleted_at === null,
    );
  }

  apply(write: PlannedWrite): void {
    switch (write.kind) {
      case 'connection':
        this.#connections.set(write.row.id, version(write.row));
        return;
      case 'connection_deleted':
        tombstoneIn(this.#connections, write);
        return;
      case 'certificate':
        this.#certificates.set(
          certificateKey(write.row.connection_id, write.row.certificate_type),
          write.row,
        );
        return;
      case 'organization':
        this.#organizations.set(write.row.id, version(write.row));
        return;
      case 'organization_deleted':
        tombstoneIn(this.#organizations, write);
        return;
      case 'domain':
        this.#domains.set(write.row.id, {
          ...version(write.row),
          id: write.row.id,
          organization_id: write.row.organization_id,
        });
        return;
      case 'domain_deleted':
        tombstoneIn(this.#domains, write);
        return;
    }
  }
}

/** What a write the events path planned leaves as the row's version. */
function version(row: Omit<RowVersion, 'source'>): RowVersion {
  return {
    updated_at: row.updated_at,
    deleted_at: row.deleted_at,
    observed_at: row.observed_at,
    source: 'event',
  };
}

function tombstoneIn<V extends RowVersion>(rows: Map<string, V>, tombstone: Tombstone): void {
  const stored = rows.get(tombstone.id);
  if (stored) rows.set(tombstone.id, { ...stored, deleted_at: tombstone.deleted_at });
}
