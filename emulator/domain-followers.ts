/**
 * The connections whose domains are their organisation's. A connection of an organisation the
 * model knows lists that organisation's live domains (each under the organisation domain's id), in
 * the organisation's order, in every wire shape. The list is written into the connection's record
 * whenever the organisation's domains change, so the listing, its `domain` filter and the event
 * payloads need no special case. The connection's `updated_at` is left alone: WorkOS's event for
 * a domain change is the domain's, and a mirror has to cope with that.
 */
import { type OrganizationDomainRecord, toConnectionDomain } from './organization-payloads.ts';
import type { ConnectionRecord } from './payloads.ts';

const byCreation = (a: ConnectionRecord, b: ConnectionRecord) => a.createdMs - b.createdMs || a.seq - b.seq;

export class DomainFollowers {
  private readonly byOrganization = new Map<string, Set<ConnectionRecord>>();

  /** From now on `record` lists `domains` (its organisation's) and follows their changes. */
  follow(record: ConnectionRecord, domains: readonly OrganizationDomainRecord[]): void {
    if (record.organizationId === undefined) throw new Error(`Connection ${record.id} has no organization`);
    let members = this.byOrganization.get(record.organizationId);
    if (!members) {
      members = new Set();
      this.byOrganization.set(record.organizationId, members);
    }
    members.add(record);
    record.domains = domains.map(toConnectionDomain);
  }

  /** The connection was deleted. */
  unfollow(record: ConnectionRecord): void {
    if (record.organizationId !== undefined) this.byOrganization.get(record.organizationId)?.delete(record);
  }

  follows(record: ConnectionRecord): boolean {
    return (
      record.organizationId !== undefined &&
      this.byOrganization.get(record.organizationId)?.has(record) === true
    );
  }

  /** Rewrites the domain list of every follower of the organisation. */
  refresh(organizationId: string, domains: readonly OrganizationDomainRecord[]): void {
    for (const record of this.byOrganization.get(organizationId) ?? []) {
      record.domains = domains.map(toConnectionDomain);
    }
  }

  /** The organisation's live followers, oldest first. */
  followers(organizationId: string): ConnectionRecord[] {
    return [...(this.byOrganization.get(organizationId) ?? [])].sort(byCreation);
  }

  /** The organisation is gone (its connections were deleted first). */
  forget(organizationId: string): void {
    this.byOrganization.delete(organizationId);
  }
}
