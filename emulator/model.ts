/**
 * In-memory state of one WorkOS environment: connections, the event log, and the certificate state
 * a mirror should end up with. Mutations follow WorkOS's rules on what emits an event: activation,
 * deactivation, deletion and the two certificate notices do; creation, renames, domain and other
 * state edits do not (a mirror only learns of those through reconciliation).
 *
 * Every mutation takes an optional `at` so scenario generators can write a history in the past;
 * without it the model's clock is used.
 *
 * SAML connections carry a signing certificate description (`signingCertificate(id)`), which the
 * HTTP routes render into a real X.509 PEM in `options.signing_cert`. `setSigningCertificate`
 * changes it silently (WorkOS emits nothing for that). ResponseSigning certificate events —
 * renewals and renewal notices alike — set its expiry to the event's `expiry_date`, keeping its
 * subject, so the listing and the newest ResponseSigning event always agree; like the other
 * certificate events they leave `updated_at` alone. Other certificate types never touch it.
 *
 * Organisations and their domains (`organization-book.ts`) emit an event for every change. A
 * connection of an organisation the model knows lists that organisation's live domains instead of
 * its own (`domain-followers.ts`), and its `updated_at` does not move when they change.
 */
import type {
  CertificateType,
  ConnectionState,
  DomainVerificationFailure,
  OrganizationDomainState,
  OrganizationDomainStrategy,
  WireConnection,
  WireConnectionEvent,
  WireConnectionList,
  WireOrganization,
  WireOrganizationDomain,
  WireOrganizationEvent,
  WireOrganizationList,
} from '../src/workos/wire.ts';
import { CertificateBook, type ExpectedCertificate } from './certificates.ts';
import { type ClockReading, ModelClock } from './clock.ts';
import { ConnectionFactory, type CreateConnectionInput } from './connection-factory.ts';
import { ConnectionStore, type DeletedConnection, type ListConnectionsParams } from './connection-store.ts';
import { DomainFollowers } from './domain-followers.ts';
import { NotFoundError } from './errors.ts';
import {
  type EventBody,
  type EventListBody,
  EventLog,
  type ListEventsParams,
  type RawEvent,
} from './event-log.ts';
import { IdGenerator } from './ids.ts';
import { OrganizationBook, optionsOf, type When } from './organization-book.ts';
import {
  type CreateOrganizationInput,
  type OrganizationDomainOptions,
  OrganizationFactory,
} from './organization-factory.ts';
import { toWireOrganizationDomain } from './organization-payloads.ts';
import {
  type DeletedOrganization,
  type ListOrganizationsParams,
  OrganizationStore,
} from './organization-store.ts';
import {
  type ConnectionRecord,
  isSamlType,
  toActivationPayload,
  toDeletionPayload,
  toRenewalRequiredPayload,
  toRenewedPayload,
  toWireConnection,
} from './payloads.ts';
import { Random } from './random.ts';
import {
  defaultSubject,
  describeSigningCertificate,
  type RawSigningCertificate,
  type SigningCertificate,
  type SigningCertificateInput,
} from './signing-certs.ts';

export interface WorkosModelOptions {
  /** Seeds ids and external keys; same seed + same clock ⇒ same ids. */
  seed?: number;
  /** The base clock the offset is added to. Defaults to real time. */
  clock?: () => Date;
  /**
   * How far WorkOS's clock runs ahead of (positive) or behind (negative) the base clock, in ms
   * (default 0). Everything the model stamps — events, connections, ids — is in the shifted clock.
   */
  clockOffsetMs?: number;
  /** Events older than now − retentionMs are not listed and their ids are rejected as cursors. */
  retentionMs?: number;
  /**
   * Events younger than this (in ms of WorkOS's clock) are not listed yet, as WorkOS lists an event
   * a few seconds after creating it. Default 0: listed at once. `setVisibilityDelay` changes it.
   */
  visibilityDelayMs?: number;
}

/** A mutation named a connection that is not live (a bug in the test, not an API answer). */
export class UnknownConnectionError extends Error {
  override readonly name = 'UnknownConnectionError';
  constructor(readonly connectionId: string) {
    super(`No live connection ${connectionId} in the emulator model`);
  }
}

export class WorkosModel {
  /** WorkOS's "now": the base clock plus the offset (`setClockOffset`). */
  readonly clock: () => Date;
  private readonly time: ModelClock;
  private readonly ids: IdGenerator;
  private readonly factory: ConnectionFactory;
  private readonly log: EventLog;
  private readonly store = new ConnectionStore();
  private readonly certs = new CertificateBook();
  private readonly organizationStore = new OrganizationStore();
  private readonly followers = new DomainFollowers();
  private readonly organizations: OrganizationBook;

  constructor(options: WorkosModelOptions = {}) {
    const seed = options.seed ?? 0x5eed;
    this.time = new ModelClock(options.clock ?? (() => new Date()), options.clockOffsetMs ?? 0);
    this.clock = () => this.time.now();
    this.ids = new IdGenerator(seed);
    this.factory = new ConnectionFactory(this.ids, new Random(seed ^ 0xe7e7));
    this.log = new EventLog({
      clock: this.clock,
      ids: this.ids,
      retentionMs: options.retentionMs,
      visibilityDelayMs: options.visibilityDelayMs,
    });
    this.organizations = new OrganizationBook(
      this.organizationStore,
      new OrganizationFactory(this.ids, new Random(seed ^ 0x0d0a)),
      this.log,
      this.followers,
    );
  }

  get clockOffsetMs(): number {
    return this.time.offsetMs;
  }

  /**
   * Runs WorkOS's clock `ms` ahead of the base clock from now on (negative: behind; RangeError past
   * ±MAX_CLOCK_OFFSET_MS). Never moves the clock back: a smaller offset holds it just after the
   * time it shows until base + offset catches up (`clock.ts`), so event times stay strictly
   * increasing and no `updated_at` goes back. Answers with the clock as it then reads.
   */
  setClockOffset(ms: number): ClockReading {
    return this.time.setOffset(ms);
  }

  /** The clock, its offset and any hold, from one reading of the base clock. */
  readClock(): ClockReading {
    return this.time.read();
  }

  /** How long, in ms of WorkOS's clock, a new event stays out of List Events (0: not at all). */
  get visibilityDelayMs(): number {
    return this.log.visibilityDelay;
  }

  /** From now on, for every event old and new (RangeError outside 0..MAX_VISIBILITY_DELAY_MS). */
  setVisibilityDelay(ms: number): void {
    this.log.setVisibilityDelay(ms);
  }

  /**
   * Calls `listener` with every event appended from now on — connection events and raw ones —
   * synchronously, in log order (the emulator's webhook deliveries start here). Returns the
   * function that stops it. The listener must not throw: the mutation has already happened.
   */
  onEvent(listener: (event: EventBody) => void): () => void {
    return this.log.onAppend(listener);
  }

  /** A fresh id from the model's generator, e.g. `newId('org')`. */
  newId(prefix: string, at?: Date): string {
    return this.ids.next(prefix, at ?? this.clock());
  }

  // ── mutations that emit no event (each returns the connection) ─────────────

  /**
   * A connection of an organisation the model knows (`createOrganization`) lists that
   * organisation's domains: giving it `domains` throws.
   */
  createConnection(input: CreateConnectionInput = {}): WireConnection {
    const organization =
      typeof input.organizationId === 'string' ? this.organizationStore.get(input.organizationId) : undefined;
    if (organization && input.domains !== undefined)
      throw new Error(
        `createConnection: organization ${organization.id} has its own domains, which its connections list: change them with addDomain/removeDomain instead of giving domains`,
      );
    const record = this.factory.create(input, input.at ?? this.clock());
    this.store.insert(record);
    if (organization) this.followers.follow(record, this.organizationStore.domainsOf(organization));
    return toWireConnection(record);
  }

  rename(id: string, name: string, at?: Date): WireConnection {
    return this.edit(id, at, (record) => {
      record.name = name;
    });
  }

  /** Throws for a connection that lists its organisation's domains. */
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

  /**
   * Replaces a SAML connection's signing certificate (throws for other types): `{ notAfter,
   * subject? }` is served as a real PEM (subject default `idp.<first domain>`, else the
   * organisation or connection id), `null` as `signing_cert: null`, and `{ raw: text }` verbatim —
   * e.g. `{ raw: 'not a pem' }` for tests of a certificate that does not parse. Bumps `updated_at`.
   */
  setSigningCertificate(id: string, certificate: SigningCertificateInput, at?: Date): WireConnection {
    const record = this.require(id);
    const stored = this.factory.signingCertificate(record, certificate);
    return this.edit(id, at, (r) => {
      r.signingCert = stored;
    });
  }

  // ── mutations that emit an event (each returns the event) ───────────────────

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

  /**
   * Emits the connection as it was (state before deletion); `withDomains: false` drops `domains`;
   * `silent: true` deletes it without appending the event (as `EventOptions.silent`).
   */
  deleteConnection(
    id: string,
    at?: Date,
    options: { withDomains?: boolean; silent?: boolean } = {},
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

  renewCertificate(
    id: string,
    certificateType: CertificateType,
    expiryDate: Date,
    at?: Date,
  ): WireConnectionEvent<'connection.saml_certificate_renewed'> {
    const record = this.require(id);
    const event = this.log.emit('connection.saml_certificate_renewed', at, (createdAt) =>
      toRenewedPayload(record, certificateType, expiryDate, createdAt),
    );
    this.certs.apply(event);
    this.followCertificateEvent(record, certificateType, expiryDate);
    return event;
  }

  /** `days_until_expiry` is counted from the event time (floored, ≥ 0); expired ⇔ expiry ≤ event time. */
  requireCertificateRenewal(
    id: string,
    certificateType: CertificateType,
    expiryDate: Date,
    at?: Date,
  ): WireConnectionEvent<'connection.saml_certificate_renewal_required'> {
    const record = this.require(id);
    const event = this.log.emit('connection.saml_certificate_renewal_required', at, (createdAt) =>
      toRenewalRequiredPayload(record, certificateType, expiryDate, createdAt),
    );
    this.certs.apply(event);
    this.followCertificateEvent(record, certificateType, expiryDate);
    return event;
  }

  // ── organisations and their domains (each emits its event; `when`: see EventOptions) ──

  /**
   * The event's `data` is the new organisation, domains included. Live connections that already
   * name its id list its domains from now on.
   */
  createOrganization(input: CreateOrganizationInput = {}): WireOrganizationEvent<'organization.created'> {
    const event = this.organizations.create(input);
    const organization = this.organizations.requireOrganization(event.data.id);
    const domains = this.organizationStore.domainsOf(organization);
    for (const record of this.store.liveRecords())
      if (record.organizationId === organization.id) this.followers.follow(record, domains);
    return event;
  }

  /** Bumps the organisation's `updated_at`. */
  updateOrganization(
    id: string,
    changes: { name?: string; externalId?: string | null },
    when?: When,
  ): WireOrganizationEvent<'organization.updated'> {
    return this.organizations.update(id, changes, when);
  }

  /** Deletes each of its live connections first (`connection.deleted` each, oldest first). */
  deleteOrganization(id: string, when?: When): WireOrganizationEvent<'organization.deleted'> {
    this.organizations.requireOrganization(id);
    const { at, silent } = optionsOf(when);
    for (const record of this.followers.followers(id)) this.deleteConnection(record.id, at, { silent });
    return this.organizations.delete(id, { at, silent });
  }

  /** Default `pending`, verified by `dns` (which gets a verification prefix and token). */
  addDomain(
    organizationId: string,
    domain: string,
    options: OrganizationDomainOptions = {},
    when?: When,
  ): WireOrganizationEvent<'organization_domain.created'> {
    return this.organizations.addDomain(organizationId, domain, options, when);
  }

  verifyDomain(domainId: string, when?: When): WireOrganizationEvent<'organization_domain.verified'> {
    return this.organizations.verifyDomain(domainId, when);
  }

  /** State `failed`; the payload is `{ reason, organization_domain }`. */
  failDomainVerification(
    domainId: string,
    reason: DomainVerificationFailure = 'domain_verification_period_expired',
    when?: When,
  ): WireOrganizationEvent<'organization_domain.verification_failed'> {
    return this.organizations.failDomainVerification(domainId, reason, when);
  }

  /** A strategy switched to `dns` gets a new verification prefix and token; `manual` has none. */
  updateDomain(
    domainId: string,
    changes: { state?: OrganizationDomainState; verificationStrategy?: OrganizationDomainStrategy },
    when?: When,
  ): WireOrganizationEvent<'organization_domain.updated'> {
    return this.organizations.updateDomain(domainId, changes, when);
  }

  /** The event holds the domain as it was. */
  removeDomain(domainId: string, when?: When): WireOrganizationEvent<'organization_domain.deleted'> {
    return this.organizations.removeDomain(domainId, when);
  }

  /**
   * Appends any body to the log verbatim (malformed events, unknown types). It is served even
   * when a request's `events` filter excludes its type. `id` and `created_at` are filled if absent.
   */
  appendRawEvent(event: RawEvent): RawEvent {
    return this.log.appendRaw(event);
  }

  // ── reads ───────────────────────────────────────────────────────────────────

  /** The whole log in order, raw events included. Do not mutate the returned bodies. */
  events(): EventBody[] {
    return this.log.all();
  }

  get eventCount(): number {
    return this.log.size;
  }

  /** Live connections, oldest first. */
  liveConnections(): WireConnection[] {
    return this.store.liveConnections();
  }

  deletedConnections(): DeletedConnection[] {
    return this.store.deletedConnections();
  }

  /** The certificate rows a correct mirror holds after applying every event. */
  certificates(): ExpectedCertificate[] {
    return this.certs.all();
  }

  /**
   * A live SAML connection's signing certificate as the listing serves it (a copy): generated
   * `{ notAfter, subject }`, `{ raw }` text, or null (also for connections of other types).
   */
  signingCertificate(id: string): SigningCertificate | RawSigningCertificate | null {
    return describeSigningCertificate(this.require(id).signingCert);
  }

  /** Every live connection's certificate that is not null, by connection id, oldest first. */
  signingCertificates(): Map<string, SigningCertificate | RawSigningCertificate> {
    const out = new Map<string, SigningCertificate | RawSigningCertificate>();
    for (const record of this.store.liveRecords()) {
      const certificate = describeSigningCertificate(record.signingCert);
      if (certificate !== null) out.set(record.id, certificate);
    }
    return out;
  }

  getConnection(id: string): WireConnection {
    const record = this.store.get(id);
    if (!record) throw new NotFoundError(`Connection not found: '${id}'.`);
    return toWireConnection(record);
  }

  /** Live organisations, oldest first, each with its live domains. */
  liveOrganizations(): WireOrganization[] {
    return this.organizationStore.liveOrganizations();
  }

  deletedOrganizations(): DeletedOrganization[] {
    return this.organizationStore.deletedOrganizations();
  }

  /** Whether `id` is a live organisation (whose connections list its domains). */
  hasOrganization(id: string): boolean {
    return this.organizationStore.get(id) !== undefined;
  }

  /** Whether `id` names an organisation, live or deleted: `createOrganization` refuses it. */
  organizationIdUsed(id: string): boolean {
    return this.organizationStore.used(id);
  }

  getOrganization(id: string): WireOrganization {
    const record = this.organizationStore.get(id);
    if (!record) throw new NotFoundError(`Organization not found: '${id}'.`);
    return this.organizationStore.wire(record);
  }

  organizationDomain(id: string): WireOrganizationDomain {
    const record = this.organizationStore.domain(id);
    if (!record) throw new NotFoundError(`Organization domain not found: '${id}'.`);
    return toWireOrganizationDomain(record);
  }

  /** List Organizations. Throws InvalidParameterError (422) or UnknownCursorError (400). */
  listOrganizations(params: ListOrganizationsParams = {}): WireOrganizationList {
    return this.organizationStore.list(params);
  }

  /** List Events. Throws InvalidParameterError (422) or UnknownCursorError (400). */
  listEvents(params: ListEventsParams = {}): EventListBody {
    return this.log.list(params);
  }

  /** List Connections. Throws InvalidParameterError (422) or UnknownCursorError (400). */
  listConnections(params: ListConnectionsParams = {}): WireConnectionList {
    return this.store.list(params);
  }

  private require(id: string): ConnectionRecord {
    const record = this.store.get(id);
    if (!record) throw new UnknownConnectionError(id);
    return record;
  }

  /** ResponseSigning events of SAML connections set the listed certificate's expiry. */
  private followCertificateEvent(record: ConnectionRecord, type: CertificateType, expiryDate: Date): void {
    if (type !== 'ResponseSigning' || !isSamlType(record.connectionType)) return;
    const current = record.signingCert;
    const subject = current !== null && 'subject' in current ? current.subject : defaultSubject(record);
    record.signingCert = this.factory.signingCertificate(record, { notAfter: expiryDate, subject });
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
