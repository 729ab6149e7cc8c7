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
 * changes it silently (WorkOS emits nothing for that); ResponseSigning certificate events move its
 * expiry (`certificate-events.ts`).
 *
 * Organisations and their domains (`organization-book.ts`, `organization-domain-book.ts`) emit an
 * event for every change. A connection of an organisation the model knows lists that organisation's
 * live domains instead of its own (`domain-followers.ts`), and its `updated_at` does not move when
 * they change.
 *
 * The changes are here; the reads and listings come from `ModelReads`, the clock, the log's
 * settings and its listeners from `ModelEnvironment`, and the state is in the parts
 * `assembleModel` wires (`model-parts.ts`).
 */
import type {
  CertificateType,
  ConnectionState,
  DomainVerificationFailure,
  OrganizationDomainState,
  OrganizationDomainStrategy,
  WireConnection,
  WireConnectionEvent,
  WireOrganizationEvent,
} from '../src/workos/wire.ts';
import type { CreateConnectionInput } from './connection-factory.ts';
import { optionsOf, type When } from './event-options.ts';
import { assembleModel, type WorkosModelOptions } from './model-parts.ts';
import { ModelReads } from './model-reads.ts';
import type { CreateOrganizationInput, OrganizationDomainOptions } from './organization-factory.ts';
import type { SigningCertificateInput } from './signing-certs.ts';

export class WorkosModel extends ModelReads {
  constructor(options: WorkosModelOptions = {}) {
    super(assembleModel(options));
  }

  // ── mutations that emit no event (each returns the connection) ─────────────

  /**
   * A connection of an organisation the model knows (`createOrganization`) lists that
   * organisation's domains: giving it `domains` throws.
   */
  createConnection(input: CreateConnectionInput = {}): WireConnection {
    return this.parts.connections.create(input);
  }

  rename(id: string, name: string, at?: Date): WireConnection {
    return this.parts.connections.rename(id, name, at);
  }

  /** Throws for a connection that lists its organisation's domains. */
  setDomains(id: string, domains: string[], at?: Date): WireConnection {
    return this.parts.connections.setDomains(id, domains, at);
  }

  setState(id: string, state: ConnectionState, at?: Date): WireConnection {
    return this.parts.connections.setState(id, state, at);
  }

  /**
   * Replaces a SAML connection's signing certificate (throws for other types): `{ notAfter,
   * subject? }` is served as a real PEM (subject default `idp.<first domain>`, else the
   * organisation or connection id), `null` as `signing_cert: null`, and `{ raw: text }` verbatim —
   * e.g. `{ raw: 'not a pem' }` for tests of a certificate that does not parse. Bumps `updated_at`.
   */
  setSigningCertificate(id: string, certificate: SigningCertificateInput, at?: Date): WireConnection {
    return this.parts.connections.setSigningCertificate(id, certificate, at);
  }

  // ── mutations that emit an event (each returns the event) ───────────────────

  activate(id: string, at?: Date): WireConnectionEvent<'connection.activated'> {
    return this.parts.connections.activate(id, at);
  }

  deactivate(id: string, at?: Date): WireConnectionEvent<'connection.deactivated'> {
    return this.parts.connections.deactivate(id, at);
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
    return this.parts.connections.delete(id, at, options);
  }

  renewCertificate(
    id: string,
    certificateType: CertificateType,
    expiryDate: Date,
    at?: Date,
  ): WireConnectionEvent<'connection.saml_certificate_renewed'> {
    return this.parts.certificates.renewed(id, certificateType, expiryDate, at);
  }

  /** `days_until_expiry` is counted from the event time (floored, ≥ 0); expired ⇔ expiry ≤ event time. */
  requireCertificateRenewal(
    id: string,
    certificateType: CertificateType,
    expiryDate: Date,
    at?: Date,
  ): WireConnectionEvent<'connection.saml_certificate_renewal_required'> {
    return this.parts.certificates.renewalRequired(id, certificateType, expiryDate, at);
  }

  // ── organisations and their domains (each emits its event; `when`: see EventOptions) ──

  /**
   * The event's `data` is the new organisation, domains included. Live connections that already
   * name its id list its domains from now on.
   */
  createOrganization(input: CreateOrganizationInput = {}): WireOrganizationEvent<'organization.created'> {
    const { organizations, organizationStore, connectionStore, followers } = this.parts;
    const event = organizations.create(input);
    const organization = organizations.requireOrganization(event.data.id);
    const domains = organizationStore.domainsOf(organization);
    for (const record of connectionStore.liveRecords())
      if (record.organizationId === organization.id) followers.follow(record, domains);
    return event;
  }

  /** Bumps the organisation's `updated_at`. */
  updateOrganization(
    id: string,
    changes: { name?: string; externalId?: string | null },
    when?: When,
  ): WireOrganizationEvent<'organization.updated'> {
    return this.parts.organizations.update(id, changes, when);
  }

  /** Deletes each of its live connections first (`connection.deleted` each, oldest first). */
  deleteOrganization(id: string, when?: When): WireOrganizationEvent<'organization.deleted'> {
    this.parts.organizations.requireOrganization(id);
    const { at, silent } = optionsOf(when);
    for (const record of this.parts.followers.followers(id)) this.deleteConnection(record.id, at, { silent });
    return this.parts.organizations.delete(id, { at, silent });
  }

  /** Default `pending`, verified by `dns` (which gets a verification prefix and token). */
  addDomain(
    organizationId: string,
    domain: string,
    options: OrganizationDomainOptions = {},
    when?: When,
  ): WireOrganizationEvent<'organization_domain.created'> {
    return this.parts.domains.add(organizationId, domain, options, when);
  }

  verifyDomain(domainId: string, when?: When): WireOrganizationEvent<'organization_domain.verified'> {
    return this.parts.domains.verify(domainId, when);
  }

  /** State `failed`; the payload is `{ reason, organization_domain }`. */
  failDomainVerification(
    domainId: string,
    reason: DomainVerificationFailure = 'domain_verification_period_expired',
    when?: When,
  ): WireOrganizationEvent<'organization_domain.verification_failed'> {
    return this.parts.domains.failVerification(domainId, reason, when);
  }

  /** A strategy switched to `dns` gets a new verification prefix and token; `manual` has none. */
  updateDomain(
    domainId: string,
    changes: { state?: OrganizationDomainState; verificationStrategy?: OrganizationDomainStrategy },
    when?: When,
  ): WireOrganizationEvent<'organization_domain.updated'> {
    return this.parts.domains.update(domainId, changes, when);
  }

  /** The event holds the domain as it was. */
  removeDomain(domainId: string, when?: When): WireOrganizationEvent<'organization_domain.deleted'> {
    return this.parts.domains.remove(domainId, when);
  }
}
