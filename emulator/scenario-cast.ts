/**
 * The organisations and connections of a generated scenario, and which of them may act next.
 * Kept apart from the scenario's timeline so each stays small: this file decides *who*
 * (names, types, domains, pools), `scenario.ts` decides *what happens when*.
 */
import type { ConnectionState } from '../src/workos/wire.ts';
import { IdPool } from './id-pool.ts';
import type { WorkosModel } from './model.ts';
import type { ConnectionType } from './payloads.ts';
import type { Random } from './random.ts';
import type { ScenarioCertificates } from './scenario-certs.ts';

/** A realistic mix: SAML dominates B2B SSO, with some OAuth and OIDC. */
const CONNECTION_TYPES: ReadonlyArray<readonly [ConnectionType, number]> = [
  ['OktaSAML', 6],
  ['AzureSAML', 5],
  ['GoogleSAML', 2],
  ['GenericSAML', 2],
  ['OneLoginSAML', 1],
  ['PingFederateSAML', 1],
  ['ADFSSAML', 1],
  ['JumpCloudSAML', 1],
  ['GoogleOAuth', 3],
  ['MicrosoftOAuth', 2],
  ['GenericOIDC', 2],
  ['OktaOIDC', 1],
  ['EntraIdOIDC', 1],
];

const NAME_WORDS = [
  'Acme',
  'Globex',
  'Initech',
  'Umbrella',
  'Hooli',
  'Stark',
  'Wayne',
  'Tyrell',
  'Soylent',
  'Vandelay',
];
const NAME_SUFFIXES = ['Corp', 'Labs', 'Health', 'Bank', 'Logistics', 'Systems', 'Studio', 'Energy'];
const RENAME_TAGS = ['EU', 'US', 'Staging', 'Primary', 'Contractors', 'New'];

interface Organization {
  id: string;
  name: string;
  slug: string;
  /** How many connections this organisation should get (grouping mode only). */
  target: number;
  size: number;
}

export class ScenarioCast {
  createdCount = 0;
  private readonly organizations: Organization[] = [];
  private readonly live = new IdPool();
  private readonly activated = new IdPool();
  private readonly silentDrafts = new IdPool();
  private readonly fresh: string[] = [];
  private freshHead = 0;
  private readonly info = new Map<string, { org: Organization; type: ConnectionType }>();

  constructor(
    private readonly model: WorkosModel,
    private readonly random: Random,
    private readonly fixedOrganizations?: number,
    private readonly certificates?: ScenarioCertificates,
  ) {}

  /**
   * Creates a connection (no event). About 10% stay silent forever unless `eventful` is set; silent
   * SAML ones have no signing certificate, the others one from `certificates`.
   */
  create(at: Date, options: { eventful?: boolean } = {}): string {
    const org = this.nextOrganization(at);
    const silent = !options.eventful && this.random.chance(0.1);
    const pending = silent && this.random.chance(0.4);
    const type: ConnectionType = pending ? 'Pending' : this.random.weighted(CONNECTION_TYPES);
    const state: ConnectionState = pending
      ? 'requires_type'
      : silent
        ? this.random.pick(['draft', 'validating'])
        : 'draft';
    const { id } = this.model.createConnection({
      organizationId: org.id,
      connectionType: type,
      name: `${org.name} ${labelOf(type)}`,
      domains: this.domainsFor(org),
      state,
      signingCertificate: this.certificates?.forNewConnection(type, silent) ?? null,
      at,
    });
    org.size += 1;
    this.createdCount += 1;
    this.info.set(id, { org, type });
    this.live.add(id);
    if (!silent) this.fresh.push(id);
    else if (state === 'draft') this.silentDrafts.add(id);
    return id;
  }

  /** Renames, domain edits and silent state changes: things only reconciliation can see. */
  quietEdits(at: Date): void {
    if (this.live.size === 0) return;
    if (this.random.chance(0.05)) {
      const id = this.live.pick(this.random);
      const { org, type } = this.describe(id);
      this.model.rename(id, `${org.name} ${labelOf(type)} (${this.random.pick(RENAME_TAGS)})`, at);
    }
    if (this.random.chance(0.04)) {
      const id = this.live.pick(this.random);
      this.model.setDomains(id, this.domainsFor(this.describe(id).org), at);
    }
    if (this.silentDrafts.size > 0 && this.random.chance(0.01)) {
      const id = this.silentDrafts.pick(this.random);
      this.silentDrafts.remove(id);
      this.model.setState(id, 'validating', at);
    }
  }

  hasEventful(): boolean {
    return this.peekFresh() !== undefined || this.activated.size > 0;
  }

  hasActivated(): boolean {
    return this.activated.size > 0;
  }

  activatedCount(): number {
    return this.activated.size;
  }

  /** The oldest eventful connection that has not been activated yet. */
  peekFresh(): string | undefined {
    return this.fresh[this.freshHead];
  }

  takeFresh(): void {
    this.freshHead += 1;
  }

  markActivated(id: string): void {
    this.activated.add(id);
  }

  pickActivated(): string {
    return this.activated.pick(this.random);
  }

  /** After deletion: the connection must never act again. */
  forget(id: string): void {
    this.activated.remove(id);
    this.live.remove(id);
  }

  describe(id: string): { org: Organization; type: ConnectionType; state: ConnectionState } {
    const info = this.info.get(id);
    if (!info) throw new Error(`Scenario has no connection ${id}`);
    return { ...info, state: this.model.getConnection(id).state };
  }

  private nextOrganization(at: Date): Organization {
    const fixed = this.fixedOrganizations;
    if (fixed !== undefined && fixed > 0) {
      // Fill every organisation once, then spread the rest at random.
      if (this.organizations.length < fixed) return this.newOrganization(at, 0);
      return this.random.pick(this.organizations);
    }
    const current = this.organizations[this.organizations.length - 1];
    if (current && current.size < current.target) return current;
    return this.newOrganization(at, this.random.int(1, 3));
  }

  private newOrganization(at: Date, target: number): Organization {
    const n = this.organizations.length + 1;
    const name = `${this.random.pick(NAME_WORDS)} ${this.random.pick(NAME_SUFFIXES)} ${n}`;
    const org = {
      id: this.model.newId('org', at),
      name,
      slug: name.toLowerCase().replaceAll(' ', '-'),
      target,
      size: 0,
    };
    this.organizations.push(org);
    return org;
  }

  /** 1–3 of the organisation's domains, its main one usually first. */
  private domainsFor(org: Organization): string[] {
    const candidates = [`${org.slug}.com`, `${org.slug}.io`, `eu.${org.slug}.com`, `${org.slug}-sso.net`];
    const count = this.random.int(1, 3);
    const offset = this.random.chance(0.8) ? 0 : this.random.int(1, candidates.length - 1);
    return Array.from({ length: count }, (_, i) => candidates[(offset + i) % candidates.length] as string);
  }
}

/** "OktaSAML" → "Okta SSO". */
function labelOf(type: ConnectionType): string {
  const vendor = type.replace(/(SAML|OAuth|OIDC|Oidc)$/, '');
  return `${vendor || type} SSO`;
}
