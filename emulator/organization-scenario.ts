/**
 * Seeded organisation histories: organisations with domains in mixed states, connections that
 * list those domains (some activated), then a timeline of domain and organisation changes. Opt-in
 * and separate from `generateScenario`, whose histories it leaves exactly as they were; it can run
 * after it on the same model, its window then starting after the newest event.
 *
 * The history is `organizations` setups then `domainEvents` steps, spread evenly over
 * [start, end]. A setup emits `organization.created` and one `connection.activated` per activated
 * connection; each step emits exactly one event. Same seed, model seed and clock ⇒ the same log.
 */
import { IdPool } from './id-pool.ts';
import type { WorkosModel } from './model.ts';
import { ORGANIZATION_STEPS, type OrganizationStep, OrganizationTimeline } from './organization-timeline.ts';
import type { ConnectionType } from './payloads.ts';
import { Random } from './random.ts';
import { ScenarioCertificates } from './scenario-certs.ts';

export { ORGANIZATION_STEPS, type OrganizationStep } from './organization-timeline.ts';

export interface OrganizationScenarioOptions {
  seed: number;
  organizations: number;
  /** Connections each organisation gets. Default: 1 or 2, at random. */
  connectionsPerOrganization?: number;
  /** Exactly this many timeline steps, each emitting one event. */
  domainEvents: number;
  /** The steps the timeline draws from (default: all of ORGANIZATION_STEPS). */
  steps?: readonly OrganizationStep[];
  /** Default: model clock − 25 days, or just after the newest event if that is later. */
  start?: Date;
  /** Default: model clock − 1 minute. */
  end?: Date;
}

export interface OrganizationScenarioSummary {
  organizations: number;
  connections: number;
  /** Every event the generator emitted: setups and steps. */
  events: number;
  /** Of which timeline steps. */
  domainEvents: number;
  byType: Record<string, number>;
}

const DAY_MS = 86_400_000;

const COMPANIES = [
  'Northwind',
  'Contoso',
  'Fabrikam',
  'Tailspin',
  'Litware',
  'Adatum',
  'Proseware',
  'Woodgrove',
];
const SUFFIXES = ['Group', 'Industries', 'Partners', 'Holdings', 'Labs'];
const CONNECTION_TYPES: ReadonlyArray<readonly [ConnectionType, number]> = [
  ['OktaSAML', 3],
  ['AzureSAML', 3],
  ['GoogleOAuth', 1],
  ['GenericOIDC', 1],
];
/** Domains other than the one left pending: mostly verified, as a working SSO setup's are. */
const SETTLED_STATES = [
  ['verified', 6],
  ['legacy_verified', 1],
  ['unverified', 1],
  ['failed', 1],
  ['pending', 1],
] as const;

function requireCount(name: string, value: number | undefined): void {
  if (value !== undefined && (!Number.isInteger(value) || value < 0))
    throw new Error(`generateOrganizationScenario: ${name} must be an integer >= 0`);
}

/** Where the history goes: after anything already in the log, which is kept in time order. */
function windowOf(model: WorkosModel, options: OrganizationScenarioOptions): { start: number; end: number } {
  const now = model.clock().getTime();
  const newest = Date.parse(String(model.events().at(-1)?.created_at ?? ''));
  const after = Number.isNaN(newest) ? Number.NEGATIVE_INFINITY : newest + 1;
  const start = options.start?.getTime() ?? Math.max(now - 25 * DAY_MS, after);
  const end = options.end?.getTime() ?? now - 60_000;
  if (start < after)
    throw new Error(
      `generateOrganizationScenario: start is before the newest event in the log (${new Date(newest).toISOString()}); events are kept in time order`,
    );
  if (end < start) throw new Error('generateOrganizationScenario: end is before start');
  return { start, end };
}

export function generateOrganizationScenario(
  model: WorkosModel,
  options: OrganizationScenarioOptions,
): OrganizationScenarioSummary {
  requireCount('organizations', options.organizations);
  requireCount('domainEvents', options.domainEvents);
  requireCount('connectionsPerOrganization', options.connectionsPerOrganization);
  if (options.organizations === 0 && options.domainEvents > 0)
    throw new Error('generateOrganizationScenario: domainEvents need at least one organization');
  const { start, end } = windowOf(model, options);
  const random = new Random(options.seed ^ 0x0f6a);
  const certificates = new ScenarioCertificates(options.seed ^ 0x0f6a, model.clock());
  const gap = (end - start) / Math.max(1, options.organizations + options.domainEvents);
  const slot = (k: number) => Math.floor(start + (k + 0.5) * gap);
  const byType: Record<string, number> = {};
  const count = (event: { event: string }) => {
    byType[event.event] = (byType[event.event] ?? 0) + 1;
  };
  const pending = new IdPool();
  const timeline = new OrganizationTimeline(model, random, pending, options.steps ?? ORGANIZATION_STEPS);

  let connections = 0;
  for (let i = 0; i < options.organizations; i++) {
    const at = new Date(slot(i));
    const name = `${random.pick(COMPANIES)} ${random.pick(SUFFIXES)} ${i + 1}`;
    const slug = name.toLowerCase().replaceAll(' ', '-');
    const domainCount = random.int(1, 3);
    const pendingAt = random.int(0, domainCount - 1);
    const created = model.createOrganization({
      name,
      domains: timeline
        .candidates(slug)
        .slice(0, domainCount)
        .map((domain, d) => ({
          domain,
          state: d === pendingAt ? 'pending' : random.weighted(SETTLED_STATES),
          verificationStrategy: random.chance(0.85) ? 'dns' : 'manual',
        })),
      at,
    });
    count(created);
    for (const domain of created.data.domains) if (domain.state === 'pending') pending.add(domain.id);
    timeline.addOrganization(created.data.id, name, slug, domainCount);

    const activateAt = new Date(Math.floor(at.getTime() + gap / 4));
    const wanted = options.connectionsPerOrganization ?? random.int(1, 2);
    for (let c = 0; c < wanted; c++) {
      const type = random.weighted(CONNECTION_TYPES);
      const { id } = model.createConnection({
        organizationId: created.data.id,
        connectionType: type,
        name: `${name} ${type.replace(/(SAML|OAuth|OIDC)$/, '')} SSO${c > 0 ? ` (${c + 1})` : ''}`,
        signingCertificate: certificates.forNewConnection(type, false),
        at,
      });
      connections += 1;
      if (random.chance(0.6)) count(model.activate(id, activateAt));
    }
  }
  for (let k = 0; k < options.domainEvents; k++)
    count(timeline.step(new Date(slot(options.organizations + k))));

  const events = Object.values(byType).reduce((a, b) => a + b, 0);
  return {
    organizations: options.organizations,
    connections,
    events,
    domainEvents: options.domainEvents,
    byType,
  };
}
