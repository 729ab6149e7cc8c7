/**
 * Live and deleted organisations, their live domains, and the List Organizations query over the
 * live ones (paged in creation order by `creation-order.ts`, as List Connections is).
 */
import type { WireOrganization, WireOrganizationList } from '../src/workos/wire.ts';
import { CreationOrderedList, type PageParams } from './creation-order.ts';
import {
  type OrganizationDomainRecord,
  type OrganizationRecord,
  toWireOrganization,
} from './organization-payloads.ts';

export interface ListOrganizationsParams extends PageParams {
  /** Organisations having any of these domains (case-insensitive). Empty or absent: no filter. */
  domains?: readonly string[];
}

export interface DeletedOrganization {
  /** The organisation as it was just before deletion, its domains included. */
  organization: WireOrganization;
  deletedAt: string;
}

export class OrganizationStore {
  private readonly live = new CreationOrderedList<OrganizationRecord>('Organization');
  private readonly domains = new Map<string, OrganizationDomainRecord>();
  private readonly deleted = new Map<string, DeletedOrganization>();

  insert(record: OrganizationRecord, domains: readonly OrganizationDomainRecord[]): void {
    this.live.insert(record);
    for (const domain of domains) this.addDomain(domain);
  }

  get(id: string): OrganizationRecord | undefined {
    return this.live.get(id);
  }

  /** Live or deleted: an id that cannot be given to a new organisation. */
  used(id: string): boolean {
    return this.live.has(id);
  }

  domain(id: string): OrganizationDomainRecord | undefined {
    return this.domains.get(id);
  }

  /** The organisation's live domains, in its order. */
  domainsOf(record: OrganizationRecord): OrganizationDomainRecord[] {
    return record.domainIds.map((id) => this.domains.get(id) as OrganizationDomainRecord);
  }

  /** Appends a domain to its (live) organisation. */
  addDomain(domain: OrganizationDomainRecord): void {
    const organization = this.live.get(domain.organizationId);
    if (!organization) throw new Error(`Organization ${domain.organizationId} is not live`);
    if (this.domains.has(domain.id)) throw new Error(`Organization domain ${domain.id} already exists`);
    this.domains.set(domain.id, domain);
    organization.domainIds.push(domain.id);
  }

  removeDomain(id: string): OrganizationDomainRecord {
    const domain = this.domains.get(id);
    if (!domain) throw new Error(`Organization domain ${id} is not live`);
    const organization = this.live.get(domain.organizationId);
    if (organization) organization.domainIds = organization.domainIds.filter((d) => d !== id);
    this.domains.delete(id);
    return domain;
  }

  /** Removes the organisation and its domains; its id stays usable as a list cursor. */
  remove(id: string, deletedAt: string): OrganizationRecord {
    const record = this.live.get(id);
    if (!record) throw new Error(`Organization ${id} is not live`);
    this.deleted.set(id, { organization: this.wire(record), deletedAt });
    for (const domainId of record.domainIds) this.domains.delete(domainId);
    return this.live.remove(id);
  }

  wire(record: OrganizationRecord): WireOrganization {
    return toWireOrganization(record, this.domainsOf(record));
  }

  liveOrganizations(): WireOrganization[] {
    return this.live.records().map((r) => this.wire(r));
  }

  deletedOrganizations(): DeletedOrganization[] {
    return [...this.deleted.values()].map((d) => ({ ...d }));
  }

  get liveCount(): number {
    return this.live.size;
  }

  get deletedCount(): number {
    return this.deleted.size;
  }

  /** Every live domain, organisation by organisation (oldest first), each in its organisation's order. */
  liveDomains(): OrganizationDomainRecord[] {
    return this.live.records().flatMap((r) => this.domainsOf(r));
  }

  list(params: ListOrganizationsParams): WireOrganizationList {
    const wanted = new Set((params.domains ?? []).map((d) => d.toLowerCase()));
    const page = this.live.page(
      params,
      (r) =>
        wanted.size === 0 ||
        r.domainIds.some((id) => wanted.has(this.domains.get(id)?.domain.toLowerCase() ?? '')),
    );
    return {
      object: 'list',
      data: page.data.map((r) => this.wire(r)),
      list_metadata: { before: page.before, after: page.after },
    };
  }
}
