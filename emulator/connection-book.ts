/**
 * Connections' own changes. Creation and edits (name, domains, state, signing certificate) emit
 * no event — a mirror only learns of those through reconciliation — and edits bump `updated_at`;
 * activation, deactivation and deletion emit theirs. Each change takes an optional `at` (default:
 * the model's clock).
 *
 * A connection of an organisation the model knows lists that organisation's live domains instead
 * of its own (`domain-followers.ts`), so its domains cannot be given or set here.
 */
import type { ConnectionState, WireConnection, WireConnectionEvent } from '../src/workos/wire.ts';
import type { ConnectionFactory, CreateConnectionInput } from './connection-factory.ts';
import type { ConnectionStore } from './connection-store.ts';
import type { DomainFollowers } from './domain-followers.ts';
import type { EventLog } from './event-log.ts';
import type { OrganizationStore } from './organization-store.ts';
import {
  type ConnectionRecord,
  toActivationPayload,
  toDeletionPayload,
  toWireConnection,
} from './payloads.ts';
import type { SigningCertificateInput } from './signing-certs.ts';

/** A mutation named a connection that is not live (a bug in the test, not an API answer). */
export class UnknownConnectionError extends Error {
  override readonly name = 'UnknownConnectionError';
  constructor(readonly connectionId: string) {
    super(`No live connection ${connectionId} in the emulator model`);
  }
}

export class ConnectionBook {
  constructor(
    private readonly clock: () => Date,
    private readonly log: EventLog,
    private readonly store: ConnectionStore,
    private readonly factory: ConnectionFactory,
    private readonly organizations: OrganizationStore,
    private readonly followers: DomainFollowers,
  ) {}

  create(input: CreateConnectionInput): WireConnection {
    const organization =
      typeof input.organizationId === 'string' ? this.organizations.get(input.organizationId) : undefined;
    if (organization && input.domains !== undefined)
      throw new Error(
        `createConnection: organization ${organization.id} has its own domains, which its connections list: change them with addDomain/removeDomain instead of giving domains`,
      );
    const record = this.factory.create(input, input.at ?? this.clock());
    this.store.insert(record);
    if (organization) this.followers.follow(record, this.organizations.domainsOf(organization));
    return toWireConnection(record);
  }

  rename(id: string, name: string, at?: Date): WireConnection {
    return this.edit(id, at, (record) => {
      record.name = name;
    });
  }

  setDomains(id: string, domains: string[], at?: Date): WireConnection {
    const record = this.require(id);
    if (this.followers.follows(record))
      throw new Error(
        `setDomains: connection ${id} lists the domains of its organization ${record.organizationId}: change them with addDomain/removeDomain`,
      );
    return this.edit(id, at, (r, when) => {
      r.domains = this.factory.domains(r, domains, when);
    });
  }

  setState(id: string, state: ConnectionState, at?: Date): WireConnection {
    return this.edit(id, at, (record) => {
      record.state = state;
    });
  }

  /** Validated before anything changes: a certificate on a non-SAML connection throws. */
  setSigningCertificate(id: string, certificate: SigningCertificateInput, at?: Date): WireConnection {
    const record = this.require(id);
    const stored = this.factory.signingCertificate(record, certificate);
    return this.edit(id, at, (r) => {
      r.signingCert = stored;
    });
  }

  activate(id: string, at?: Date): WireConnectionEvent<'connection.activated'> {
    const record = this.require(id);
    return this.log.emit('connection.activated', at, (createdAt) => {
      record.state = 'active';
      record.updatedAt = createdAt.toISOString();
      return toActivationPayload(record);
    });
  }

  deactivate(id: string, at?: Date): WireConnectionEvent<'connection.deactivated'> {
    const record = this.require(id);
    return this.log.emit('connection.deactivated', at, (createdAt) => {
      record.state = 'inactive';
      record.updatedAt = createdAt.toISOString();
      return toActivationPayload(record);
    });
  }

  delete(
    id: string,
    at: Date | undefined,
    options: { withDomains?: boolean; silent?: boolean },
  ): WireConnectionEvent<'connection.deleted'> {
    const record = this.require(id);
    const event = this.log.emit(
      'connection.deleted',
      at,
      () => toDeletionPayload(record, options.withDomains ?? true),
      { silent: options.silent },
    );
    this.store.remove(id, event.created_at);
    this.followers.unfollow(record);
    return event;
  }

  require(id: string): ConnectionRecord {
    const record = this.store.get(id);
    if (!record) throw new UnknownConnectionError(id);
    return record;
  }

  private edit(
    id: string,
    at: Date | undefined,
    change: (record: ConnectionRecord, when: Date) => void,
  ): WireConnection {
    const record = this.require(id);
    const when = at ?? this.clock();
    change(record, when);
    record.updatedAt = when.toISOString();
    return toWireConnection(record);
  }
}
