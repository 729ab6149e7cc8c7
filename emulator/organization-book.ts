/**
 * Organisations in one WorkOS environment: every change emits the event WorkOS emits for it
 * (`organization.*`) through the model's event log, so webhooks and `onEvent` listeners get it like
 * any other. Their domains are `organization-domain-book.ts`'s. Every change takes `when`
 * (`event-options.ts`).
 */
import type { WireOrganizationEvent } from '../src/workos/wire.ts';
import type { DomainFollowers } from './domain-followers.ts';
import type { EventLog } from './event-log.ts';
import { optionsOf, type When } from './event-options.ts';
import {
  type CreateOrganizationInput,
  domainInputOf,
  type OrganizationFactory,
} from './organization-factory.ts';
import type { OrganizationRecord } from './organization-payloads.ts';
import type { OrganizationStore } from './organization-store.ts';

/** A change named an organisation that is not live (a bug in the caller, not an API answer). */
export class UnknownOrganizationError extends Error {
  override readonly name = 'UnknownOrganizationError';
  constructor(readonly organizationId: string) {
    super(`No live organization ${organizationId} in the emulator model`);
  }
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

  requireOrganization(id: string): OrganizationRecord {
    const record = this.store.get(id);
    if (!record) throw new UnknownOrganizationError(id);
    return record;
  }
}
