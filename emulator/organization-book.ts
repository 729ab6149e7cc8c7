/**
 * Organisations and their domains in one WorkOS environment: every change emits the event WorkOS
 * emits for it (`organization.*`, `organization_domain.*`) through the model's event log, so
 * webhooks and `onEvent` listeners get it like any other. A domain change emits only the domain's
 * event: the organisation's `updated_at` stays, as does that of its connections, whose domain
 * lists follow (`domain-followers.ts`).
 *
 * Every change takes `when`: a `Date` (the history can be written in the past; default: the
 * model's clock) or `{ at?, silent? }`. `silent: true` makes the same change at the same time but
 * appends no event and tells no listener (WorkOS changed something and no event reached the
 * mirror); the event that would have been sent is still returned, and its id is never listed.
 */
import type {
  DomainVerificationFailure,
  OrganizationDomainState,
  OrganizationDomainStrategy,
  WireOrganizationEvent,
} from '../src/workos/wire.ts';
import type { DomainFollowers } from './domain-followers.ts';
import type { EventLog } from './event-log.ts';
import {
  type CreateOrganizationInput,
  domainInputOf,
  type OrganizationDomainOptions,
  type OrganizationFactory,
} from './organization-factory.ts';
import {
  type OrganizationDomainRecord,
  type OrganizationRecord,
  toFailedVerificationPayload,
  toWireOrganizationDomain,
} from './organization-payloads.ts';
import type { OrganizationStore } from './organization-store.ts';

export interface EventOptions {
  /** When the change happens. Default: the model's clock. */
  at?: Date;
  /** Change state and timestamps the same way, but append no event. */
  silent?: boolean;
}

export type When = Date | EventOptions;

/** A change named an organisation that is not live (a bug in the caller, not an API answer). */
export class UnknownOrganizationError extends Error {
  override readonly name = 'UnknownOrganizationError';
  constructor(readonly organizationId: string) {
    super(`No live organization ${organizationId} in the emulator model`);
  }
}

/** A change named an organisation domain that is not live. */
export class UnknownOrganizationDomainError extends Error {
  override readonly name = 'UnknownOrganizationDomainError';
  constructor(readonly domainId: string) {
    super(`No live organization domain ${domainId} in the emulator model`);
  }
}

export function optionsOf(when: When | undefined): EventOptions {
  return when instanceof Date ? { at: when } : (when ?? {});
}

export class OrganizationBook {
  constructor(
    private readonly store: OrganizationStore,
    private readonly factory: OrganizationFactory,
    private readonly log: EventLog,
    private readonly followers: DomainFollowers,
  ) {}

  create(input: CreateOrganizationInput): WireOrganizationEvent<'organization.created'> {
    const domains = (input.domains ?? []).map(domainInputOf);
    const names = domains.map((d) => d.domain.toLowerCase());
    const twice = names.find((name, i) => names.indexOf(name) !== i);
    if (twice !== undefined) throw new Error(`createOrganization: domain ${twice} is listed twice`);
    if (input.id !== undefined && this.store.used(input.id))
      throw new Error(`Organization ${input.id} already exists (or existed)`);
    return this.log.emit(
      'organization.created',
      input.at,
      (createdAt) => {
        const record = this.factory.organization(input, createdAt);
        const domainRecords = domains.map((d) => this.factory.domain(record.id, d, createdAt));
        this.store.insert(record, domainRecords);
        return this.store.wire(record);
      },
      { silent: input.silent },
    );
  }

  update(
    id: string,
    changes: { name?: string; externalId?: string | null },
    when?: When,
  ): WireOrganizationEvent<'organization.updated'> {
    const record = this.requireOrganization(id);
    const { at, silent } = optionsOf(when);
    return this.log.emit(
      'organization.updated',
      at,
      (createdAt) => {
        if (changes.name !== undefined) record.name = changes.name;
        if (changes.externalId !== undefined) record.externalId = changes.externalId;
        record.updatedAt = createdAt.toISOString();
        return this.store.wire(record);
      },
      { silent },
    );
  }

  /** Emits the organisation as it was, domains included, then forgets it and its domains. */
  delete(id: string, when?: When): WireOrganizationEvent<'organization.deleted'> {
    const record = this.requireOrganization(id);
    const { at, silent } = optionsOf(when);
    const event = this.log.emit('organization.deleted', at, () => this.store.wire(record), { silent });
    this.store.remove(id, event.created_at);
    this.followers.forget(id);
    return event;
  }

  addDomain(
    organizationId: string,
    domain: string,
    options: OrganizationDomainOptions = {},
    when?: When,
  ): WireOrganizationEvent<'organization_domain.created'> {
    const organization = this.requireOrganization(organizationId);
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

  verifyDomain(domainId: string, when?: When): WireOrganizationEvent<'organization_domain.verified'> {
    const record = this.requireDomain(domainId);
    const { at, silent } = optionsOf(when);
    return this.log.emit(
      'organization_domain.verified',
      at,
      (createdAt) => toWireOrganizationDomain(this.change(record, createdAt, { state: 'verified' })),
      { silent },
    );
  }

  failDomainVerification(
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

  updateDomain(
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
  removeDomain(domainId: string, when?: When): WireOrganizationEvent<'organization_domain.deleted'> {
    const record = this.requireDomain(domainId);
    const { at, silent } = optionsOf(when);
    const event = this.log.emit('organization_domain.deleted', at, () => toWireOrganizationDomain(record), {
      silent,
    });
    this.store.removeDomain(domainId);
    const organization = this.requireOrganization(record.organizationId);
    this.followers.refresh(organization.id, this.store.domainsOf(organization));
    return event;
  }

  requireOrganization(id: string): OrganizationRecord {
    const record = this.store.get(id);
    if (!record) throw new UnknownOrganizationError(id);
    return record;
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
