/**
 * The named scenarios of `workos-sync emulator --scenario NAME` (and of anything else that wants
 * "the demo environment"): `empty`, `demo` and `large`, each deterministic for a seed.
 *
 * `demo` is a small realistic environment: a few hundred events over the last 25 days across
 * dozens of organisations, every connection state, a dozen connection types, domains, certificate
 * renewals, renewal notices and expiries, deletions, and drafts no event mentions (only a
 * reconciliation finds them). The generator's mix depends on the seed, so after it runs, any state
 * short of its minimum is topped up with extra connections created silently, as WorkOS does. Then,
 * after all of that (which stays exactly as it was), come a few organisations the emulator knows
 * (`generateOrganizationScenario`), whose connections list their domains, one domain at least
 * still pending: there for the demo to verify live.
 */
import type { ConnectionState } from '../src/workos/wire.ts';
import type { WorkosModel } from './model.ts';
import { generateOrganizationScenario, type OrganizationStep } from './organization-scenario.ts';
import type { ConnectionType } from './payloads.ts';
import { Random } from './random.ts';
import { generateScenario } from './scenario.ts';

export const SCENARIO_NAMES = ['empty', 'demo', 'large'] as const;
export type ScenarioName = (typeof SCENARIO_NAMES)[number];

/** Events generated when `events` is not given. */
export const DEFAULT_SCENARIO_EVENTS: Readonly<Record<Exclude<ScenarioName, 'empty'>, number>> = {
  demo: 300,
  large: 100_000,
};

export interface NamedScenarioOptions {
  seed: number;
  /** `demo` and `large` only (defaults in DEFAULT_SCENARIO_EVENTS); `empty` has none. */
  events?: number;
}

export interface NamedScenarioSummary {
  name: ScenarioName;
  seed: number;
  events: number;
  liveConnections: number;
  deletedConnections: number;
  organizations: number;
  /** Events by type. */
  byType: Record<string, number>;
}

/** Every state WorkOS documents for a connection, and how many of each the demo has at least. */
const DEMO_MINIMUM_BY_STATE: Readonly<Record<ConnectionState, number>> = {
  active: 1,
  inactive: 1,
  draft: 2,
  validating: 1,
  requires_type: 1,
  deleting: 1,
};

/**
 * The demo's known organisations: each starts with a pending domain, and two steps can settle at
 * most two of them. No step adds or removes a domain: a connection's domain list would then differ
 * from the one in its latest event while its `updated_at` stays the same, and the demo's closing
 * reconciliation would report those connections as changed besides the one rename it shows.
 */
const DEMO_ORGANIZATIONS = 3;
const DEMO_ORGANIZATION_STEPS: readonly OrganizationStep[] = [
  'verify-domain',
  'fail-domain',
  'rename-organization',
];

const TOP_UP_COMPANIES = ['Northwind Traders', 'Contoso', 'Fabrikam', 'Wingtip Toys', 'Tailspin', 'Litware'];
const TOP_UP_TYPES: readonly ConnectionType[] = ['OktaSAML', 'AzureSAML', 'GoogleOAuth', 'GenericOIDC'];

export function isScenarioName(name: string): name is ScenarioName {
  return (SCENARIO_NAMES as readonly string[]).includes(name);
}

/** Fills `model` with the named scenario and describes what it holds. */
export function loadScenario(
  model: WorkosModel,
  name: ScenarioName,
  options: NamedScenarioOptions,
): NamedScenarioSummary {
  if (name === 'empty') {
    if (options.events !== undefined && options.events !== 0)
      throw new RangeError('the empty scenario has no events');
  } else {
    const events = options.events ?? DEFAULT_SCENARIO_EVENTS[name];
    if (!Number.isInteger(events) || events < 0) throw new RangeError('events must be an integer >= 0');
    if (name === 'demo') {
      generateScenario(model, {
        seed: options.seed,
        events,
        connections: Math.max(3, Math.ceil(events / 4)),
        organizations: Math.max(1, Math.ceil(events / 9)),
      });
      topUpStates(model, options.seed);
      generateOrganizationScenario(model, {
        seed: options.seed,
        organizations: DEMO_ORGANIZATIONS,
        domainEvents: DEMO_ORGANIZATIONS - 1,
        steps: DEMO_ORGANIZATION_STEPS,
      });
    } else {
      generateScenario(model, { seed: options.seed, events });
    }
  }
  return summarize(model, name, options.seed);
}

/** Silent creations (no event) until every state has its minimum. */
function topUpStates(model: WorkosModel, seed: number): void {
  const random = new Random(seed ^ 0x70b0);
  const counts = countByState(model);
  let n = 0;
  for (const [state, minimum] of Object.entries(DEMO_MINIMUM_BY_STATE) as [ConnectionState, number][]) {
    for (let have = counts[state] ?? 0; have < minimum; have++) {
      n += 1;
      const company = `${random.pick(TOP_UP_COMPANIES)} ${n}`;
      const slug = company.toLowerCase().replaceAll(' ', '-');
      const type: ConnectionType = state === 'requires_type' ? 'Pending' : random.pick(TOP_UP_TYPES);
      model.createConnection({
        organizationId: model.newId('org'),
        connectionType: type,
        name: `${company} SSO`,
        domains: [`${slug}.com`],
        state,
      });
    }
  }
}

function countByState(model: WorkosModel): Partial<Record<string, number>> {
  const counts: Partial<Record<string, number>> = {};
  for (const c of model.liveConnections()) counts[c.state] = (counts[c.state] ?? 0) + 1;
  return counts;
}

function summarize(model: WorkosModel, name: ScenarioName, seed: number): NamedScenarioSummary {
  const byType: Record<string, number> = {};
  for (const event of model.events()) {
    const type = String(event.event);
    byType[type] = (byType[type] ?? 0) + 1;
  }
  const live = model.liveConnections();
  // The organisations connections name, and the ones the emulator knows (with or without one).
  const organizations = new Set(live.map((c) => c.organization_id).filter((id) => id !== undefined));
  for (const organization of model.liveOrganizations()) organizations.add(organization.id);
  return {
    name,
    seed,
    events: model.eventCount,
    liveConnections: live.length,
    deletedConnections: model.deletedConnections().length,
    organizations: organizations.size,
    byType,
  };
}
