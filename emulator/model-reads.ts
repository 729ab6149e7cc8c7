/**
 * What the model answers about connections, organisations and certificates without changing
 * anything, and the List Connections and List Organizations queries. `WorkosModel` builds on it.
 */
import type {
  WireConnection,
  WireConnectionList,
  WireOrganization,
  WireOrganizationDomain,
  WireOrganizationList,
} from '../src/workos/wire.ts';
import type { ExpectedCertificate } from './certificates.ts';
import type { DeletedConnection, ListConnectionsParams } from './connection-store.ts';
import { NotFoundError } from './errors.ts';
import { ModelEnvironment } from './model-environment.ts';
import { toWireOrganizationDomain } from './organization-payloads.ts';
import type { DeletedOrganization, ListOrganizationsParams } from './organization-store.ts';
import { toWireConnection } from './payloads.ts';
import {
  describeSigningCertificate,
  type RawSigningCertificate,
  type SigningCertificate,
} from './signing-certs.ts';

export abstract class ModelReads extends ModelEnvironment {
  /** Live connections, oldest first. */
  liveConnections(): WireConnection[] {
    return this.parts.connectionStore.liveConnections();
  }

  deletedConnections(): DeletedConnection[] {
    return this.parts.connectionStore.deletedConnections();
  }

  /** The certificate rows a correct mirror holds after applying every event. */
  certificates(): ExpectedCertificate[] {
    return this.parts.certificates.expected();
  }

  /**
   * A live SAML connection's signing certificate as the listing serves it (a copy): generated
   * `{ notAfter, subject }`, `{ raw }` text, or null (also for connections of other types).
   */
  signingCertificate(id: string): SigningCertificate | RawSigningCertificate | null {
    return describeSigningCertificate(this.parts.connections.require(id).signingCert);
  }

  /** Every live connection's certificate that is not null, by connection id, oldest first. */
  signingCertificates(): Map<string, SigningCertificate | RawSigningCertificate> {
    const out = new Map<string, SigningCertificate | RawSigningCertificate>();
    for (const record of this.parts.connectionStore.liveRecords()) {
      const certificate = describeSigningCertificate(record.signingCert);
      if (certificate !== null) out.set(record.id, certificate);
    }
    return out;
  }

  getConnection(id: string): WireConnection {
    const record = this.parts.connectionStore.get(id);
    if (!record) throw new NotFoundError(`Connection not found: '${id}'.`);
    return toWireConnection(record);
  }

  /** Live organisations, oldest first, each with its live domains. */
  liveOrganizations(): WireOrganization[] {
    return this.parts.organizationStore.liveOrganizations();
  }

  deletedOrganizations(): DeletedOrganization[] {
    return this.parts.organizationStore.deletedOrganizations();
  }

  /** Whether `id` is a live organisation (whose connections list its domains). */
  hasOrganization(id: string): boolean {
    return this.parts.organizationStore.get(id) !== undefined;
  }

  /** Whether `id` names an organisation, live or deleted: `createOrganization` refuses it. */
  organizationIdUsed(id: string): boolean {
    return this.parts.organizationStore.used(id);
  }

  getOrganization(id: string): WireOrganization {
    const record = this.parts.organizationStore.get(id);
    if (!record) throw new NotFoundError(`Organization not found: '${id}'.`);
    return this.parts.organizationStore.wire(record);
  }

  organizationDomain(id: string): WireOrganizationDomain {
    const record = this.parts.organizationStore.domain(id);
    if (!record) throw new NotFoundError(`Organization domain not found: '${id}'.`);
    return toWireOrganizationDomain(record);
  }

  /** List Organizations. Throws InvalidParameterError (422) or UnknownCursorError (400). */
  listOrganizations(params: ListOrganizationsParams = {}): WireOrganizationList {
    return this.parts.organizationStore.list(params);
  }

  /** List Connections. Throws InvalidParameterError (422) or UnknownCursorError (400). */
  listConnections(params: ListConnectionsParams = {}): WireConnectionList {
    return this.parts.connectionStore.list(params);
  }
}
