/**
 * The domains of one WorkOS environment's organisations: every change emits the event WorkOS
 * emits for it (`organization_domain.*`) through the model's event log. A domain change emits only
 * the domain's event: the organisation's `updated_at` stays, as does that of its connections,
 * whose domain lists follow (`domain-followers.ts`). Every change takes `when`
 * (`event-options.ts`).
 */
import type {
  DomainVerificationFailure,
  OrganizationDomainState,
  OrganizationDomainStrategy,
  WireOrganizationEvent,
} from '../src/workos/wire.ts';
import type { DomainFollowers } from './domain-followers.ts';
import type { EventLog } from './event-log.ts';
import { optionsOf, type When } from './event-options.ts';
import type { OrganizationBook } from './organization-book.ts';
import type { OrganizationDomainOptions, OrganizationFactory } from './organization-factory.ts';
import {
  type OrganizationDomainRecord,
  toFailedVerificationPayload,
  toWireOrganizationDomain,
} from './organization-payloads.ts';
import type { OrganizationStore } from './organization-store.ts';

/** A change named an organisation domain that is not live. */
export class UnknownOrganizationDomainError extends Error {
  override readonly name = 'UnknownOrganizationDomainError';
  constructor(readonly domainId: string) {
    super(`No live organization domain ${domainId} in the emulator model`);
  }
}

export class OrganizationDomainBook {
  constructor(
    private readonly store: OrganizationStore,
    private readonly factory: OrganizationFactory,
    private readonly log: EventLog,
    private readonly followers: DomainFollowers,
    private readonly organizations: OrganizationBook,
  ) {}

  add(
    organizationId: string,
    domain: string,
    options: OrganizationDomainOptions = {},
    when?: When,
  ): WireOrganizationEvent<'organization_domain.created'> {
    const organization = this.organizations.requireOrganization(organizationId);
    const name = domain.toLowerCase();
    if (this.store.domainsOf(organization).some((d) => d.domain.toLowerCase() === name))
      throw new Error(`Organization ${organizationId} already has the domain ${domain}`);
    const { at, silent } = optionsOf(when);
    return this.log.emit(
      'organization_domain.created',
      at,
      (createdAt) => {
        const record = this.factory.domain(organizationId, { domain, ...options }, createdAt);
        this.store.addDomain(record);
        this.followers.refresh(organizationId, this.store.domainsOf(organization));
        return toWireOrganizationDomain(record);
      },
      { silent },
    );
  }

  verify(domainId: string, when?: When): WireOrganizationEvent<'organization_domain.verified'> {
    const record = this.requireDomain(domainId);
    const { at, silent } = optionsOf(when);
    return this.log.emit(
      'organization_domain.verified',
      at,
      (createdAt) => toWireOrganizationDomain(this.change(record, createdAt, { state: 'verified' })),
      { silent },
    );
  }

  failVerification(
    domainId: string,
    reason: DomainVerificationFailure,
    when?: When,
  ): WireOrganizationEvent<'organization_domain.verification_failed'> {
    const record = this.requireDomain(domainId);
    const { at, silent } = optionsOf(when);
    return this.log.emit(
      'organization_domain.verification_failed',
      at,
      (createdAt) => toFailedVerificationPayload(this.change(record, createdAt, { state: 'failed' }), reason),
      { silent },
    );
  }

  update(
    domainId: string,
    changes: { state?: OrganizationDomainState; verificationStrategy?: OrganizationDomainStrategy },
    when?: When,
  ): WireOrganizationEvent<'organization_domain.updated'> {
    const record = this.requireDomain(domainId);
    const { at, silent } = optionsOf(when);
    return this.log.emit(
      'organization_domain.updated',
      at,
      (createdAt) => toWireOrganizationDomain(this.change(record, createdAt, changes)),
      { silent },
    );
  }

  /** Emits the domain as it was (its `updated_at` included), then removes it. */
  remove(domainId: string, when?: When): WireOrganizationEvent<'organization_domain.deleted'> {
    const record = this.requireDomain(domainId);
    const { at, silent } = optionsOf(when);
    const event = this.log.emit('organization_domain.deleted', at, () => toWireOrganizationDomain(record), {
      silent,
    });
    this.store.removeDomain(domainId);
    const organization = this.organizations.requireOrganization(record.organizationId);
    this.followers.refresh(organization.id, this.store.domainsOf(organization));
    return event;
  }

  private requireDomain(id: string): OrganizationDomainRecord {
    const record = this.store.domain(id);
    if (!record) throw new UnknownOrganizationDomainError(id);
    return record;
  }

  /**
   * Applies a state or strategy change at the event time. Switching to `dns` hands out a new
   * verification record; `manual` has none.
   */
  private change(
    record: OrganizationDomainRecord,
    at: Date,
    changes: { state?: OrganizationDomainState; verificationStrategy?: OrganizationDomainStrategy },
  ): OrganizationDomainRecord {
    if (changes.state !== undefined) record.state = changes.state;
    const strategy = changes.verificationStrategy;
    if (strategy !== undefined && strategy !== record.verificationStrategy) {
      record.verificationStrategy = strategy;
      record.verification = this.factory.verification(strategy);
    }
    record.updatedAt = at.toISOString();
    return record;
  }
}
