/**
 * Builds the records behind new organisations and organisation domains: ids from the model's
 * generator, default names, and the DNS verification prefix and token WorkOS hands out (drawn from
 * their own seeded stream, so organisations never shift a connection's external key).
 */
import type { OrganizationDomainState, OrganizationDomainStrategy } from '../src/workos/wire.ts';
import type { IdGenerator } from './ids.ts';
import type { OrganizationDomainRecord, OrganizationRecord } from './organization-payloads.ts';
import type { Random } from './random.ts';

export interface OrganizationDomainOptions {
  /** Default `pending`. */
  state?: OrganizationDomainState;
  /** Default `dns`. */
  verificationStrategy?: OrganizationDomainStrategy;
}

export interface OrganizationDomainInput extends OrganizationDomainOptions {
  domain: string;
}

export interface CreateOrganizationInput {
  id?: string;
  /** Default `Organization N`. */
  name?: string;
  /** Default null. */
  externalId?: string | null;
  /** A bare name is a `pending` domain verified by `dns`. */
  domains?: readonly (string | OrganizationDomainInput)[];
  at?: Date;
  /** Create it without emitting `organization.created` (see `EventOptions`). */
  silent?: boolean;
}

const TOKEN_ALPHABET = [...'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789'];
const PREFIX_ALPHABET = [...'abcdefghijklmnopqrstuvwxyz0123456789'];

export function domainInputOf(entry: string | OrganizationDomainInput): OrganizationDomainInput {
  return typeof entry === 'string' ? { domain: entry } : entry;
}

export class OrganizationFactory {
  private seq = 0;

  constructor(
    private readonly ids: IdGenerator,
    private readonly random: Random,
  ) {}

  organization(input: CreateOrganizationInput, at: Date): OrganizationRecord {
    const stamp = at.toISOString();
    this.seq += 1;
    return {
      id: input.id ?? this.ids.next('org', at),
      name: input.name ?? `Organization ${this.seq}`,
      externalId: input.externalId ?? null,
      domainIds: [],
      createdAt: stamp,
      updatedAt: stamp,
      createdMs: at.getTime(),
      seq: this.seq,
    };
  }

  domain(organizationId: string, input: OrganizationDomainInput, at: Date): OrganizationDomainRecord {
    const stamp = at.toISOString();
    const strategy = input.verificationStrategy ?? 'dns';
    return {
      id: this.ids.next('org_domain', at),
      organizationId,
      domain: input.domain,
      state: input.state ?? 'pending',
      verificationStrategy: strategy,
      verification: this.verification(strategy),
      createdAt: stamp,
      updatedAt: stamp,
    };
  }

  /** DNS verification's TXT record: `workos-domain-verification-ab12cd` and 25 alphanumerics. */
  verification(strategy: OrganizationDomainStrategy): OrganizationDomainRecord['verification'] {
    if (strategy !== 'dns') return null;
    return {
      prefix: `workos-domain-verification-${this.draw(PREFIX_ALPHABET, 6)}`,
      token: this.draw(TOKEN_ALPHABET, 25),
    };
  }

  private draw(alphabet: readonly string[], length: number): string {
    let out = '';
    for (let i = 0; i < length; i++) out += alphabet[this.random.int(0, alphabet.length - 1)];
    return out;
  }
}
