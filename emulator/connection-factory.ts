/**
 * Builds the records behind new connections: ids, defaults, external keys, domain ids. Domain ids
 * are unique per connection (a mirror keys domains by id) and survive domain edits that keep the
 * domain, as WorkOS's do.
 */
import type { ConnectionState } from '../src/workos/wire.ts';
import type { IdGenerator } from './ids.ts';
import { type ConnectionRecord, type ConnectionType, isSamlType } from './payloads.ts';
import type { Random } from './random.ts';
import { defaultSubject, type SigningCertificateInput, storeSigningCertificate } from './signing-certs.ts';

export interface CreateConnectionInput {
  id?: string;
  /** `null`: a connection outside any organisation. Absent: a new organisation id. */
  organizationId?: string | null;
  /** Default `OktaSAML`. */
  connectionType?: ConnectionType;
  name?: string;
  domains?: string[];
  /** Default `draft`. */
  state?: ConnectionState;
  /**
   * SAML connections only (default null: no certificate yet). `subject` defaults to
   * `idp.<first domain>` (else the organisation id, else the connection id).
   */
  signingCertificate?: SigningCertificateInput;
  at?: Date;
}

const KEY_ALPHABET = [...'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789'];

export class ConnectionFactory {
  private seq = 0;

  constructor(
    private readonly ids: IdGenerator,
    private readonly random: Random,
  ) {}

  create(input: CreateConnectionInput, at: Date): ConnectionRecord {
    const stamp = at.toISOString();
    this.seq += 1;
    const record: ConnectionRecord = {
      id: input.id ?? this.ids.next('conn', at),
      organizationId:
        input.organizationId === null ? undefined : (input.organizationId ?? this.ids.next('org', at)),
      connectionType: input.connectionType ?? 'OktaSAML',
      name: input.name ?? `Connection ${this.seq}`,
      state: input.state ?? 'draft',
      domains: [],
      externalKey: this.externalKey(),
      createdAt: stamp,
      updatedAt: stamp,
      signingCert: null,
      createdMs: at.getTime(),
      seq: this.seq,
    };
    record.domains = this.domains(record, input.domains ?? [], at);
    record.signingCert = this.signingCertificate(record, input.signingCertificate ?? null);
    return record;
  }

  /** The record's new domain list, keeping the ids of domains it already had. */
  domains(record: ConnectionRecord, domains: readonly string[], at: Date): ConnectionRecord['domains'] {
    const existing = new Map(record.domains.map((d) => [d.domain.toLowerCase(), d.id]));
    return domains.map((domain) => ({
      id: existing.get(domain.toLowerCase()) ?? this.ids.next('org_domain', at),
      object: 'connection_domain',
      domain,
    }));
  }

  /** Validates a certificate for the record (SAML only) and fills its default subject. */
  signingCertificate(
    record: ConnectionRecord,
    input: SigningCertificateInput,
  ): ConnectionRecord['signingCert'] {
    if (input !== null && !isSamlType(record.connectionType)) {
      throw new Error(
        `Connection ${record.id} is ${record.connectionType}: only SAML connections have a signing certificate`,
      );
    }
    return storeSigningCertificate(input, () => defaultSubject(record));
  }

  /** WorkOS external keys look like 25 random alphanumerics. */
  private externalKey(): string {
    let key = '';
    for (let i = 0; i < 25; i++) key += KEY_ALPHABET[this.random.int(0, KEY_ALPHABET.length - 1)];
    return key;
  }
}
