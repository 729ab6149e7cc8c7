/**
 * The steps of a generated organisation history (`organization-scenario.ts`): each picks, at
 * random among the steps that can happen now, one change to one organisation or domain, and emits
 * its one event. This file decides *which* change and to whom; the scenario decides *when*.
 */
import type { DomainVerificationFailure } from '../src/workos/wire.ts';
import type { EmittedEvent } from './event-log.ts';
import type { IdPool } from './id-pool.ts';
import type { WorkosModel } from './model.ts';
import type { Random } from './random.ts';

export const ORGANIZATION_STEPS = [
  'add-domain',
  'verify-domain',
  'fail-domain',
  'remove-domain',
  'rename-organization',
] as const;
export type OrganizationStep = (typeof ORGANIZATION_STEPS)[number];

/** Adding and verifying are what onboarding mostly is; failures and removals are rarer. */
const WEIGHTS: Readonly<Record<OrganizationStep, number>> = {
  'add-domain': 3,
  'verify-domain': 3,
  'fail-domain': 1,
  'remove-domain': 1,
  'rename-organization': 2,
};
const FAILURES: ReadonlyArray<readonly [DomainVerificationFailure, number]> = [
  ['domain_verification_period_expired', 4],
  ['domain_verified_by_other_organization', 1],
];
const RENAME_TAGS = ['EMEA', 'Americas', 'Global', 'Group'];

interface Member {
  id: string;
  name: string;
  slug: string;
  /** How many live domains it has (kept here: reading the organisation for it costs more). */
  domains: number;
}

export class OrganizationTimeline {
  private readonly members: Member[] = [];
  private extraDomains = 0;

  constructor(
    private readonly model: WorkosModel,
    private readonly random: Random,
    /** The ids of pending domains: the ones a verification can succeed or fail for. */
    private readonly pending: IdPool,
    private readonly steps: readonly OrganizationStep[],
  ) {
    const unknown = steps.find((s) => !ORGANIZATION_STEPS.includes(s));
    if (unknown !== undefined || steps.length === 0)
      throw new Error(`generateOrganizationScenario: steps must be some of ${ORGANIZATION_STEPS.join(', ')}`);
  }

  /** An organisation's usual domains, main one first. */
  candidates(slug: string): string[] {
    return [
      `${slug}.com`,
      `${slug}.io`,
      `eu.${slug}.com`,
      `${slug}-sso.net`,
      `${slug}.co`,
      `apps.${slug}.com`,
    ];
  }

  addOrganization(id: string, name: string, slug: string, domains: number): void {
    this.members.push({ id, name, slug, domains });
  }

  /** Emits one event; throws when none of the allowed steps can happen. */
  step(at: Date): EmittedEvent {
    const possible = this.steps.filter((s) => this.possible(s)).map((s) => [s, WEIGHTS[s]] as const);
    if (possible.length === 0)
      throw new Error(
        `generateOrganizationScenario: none of the steps ${this.steps.join(', ')} can happen now`,
      );
    switch (this.random.weighted(possible)) {
      case 'add-domain':
        return this.addDomain(at);
      case 'verify-domain':
        return this.model.verifyDomain(this.takePending(), at);
      case 'fail-domain':
        return this.model.failDomainVerification(this.takePending(), this.random.weighted(FAILURES), at);
      case 'remove-domain':
        return this.removeDomain(at);
      case 'rename-organization': {
        const member = this.random.pick(this.members);
        const name = `${member.name} (${this.random.pick(RENAME_TAGS)})`;
        return this.model.updateOrganization(member.id, { name }, at);
      }
    }
  }

  private possible(step: OrganizationStep): boolean {
    switch (step) {
      case 'verify-domain':
      case 'fail-domain':
        return this.pending.size > 0;
      case 'remove-domain':
        return this.removable().length > 0;
      default:
        return this.members.length > 0;
    }
  }

  private takePending(): string {
    const id = this.pending.pick(this.random);
    this.pending.remove(id);
    return id;
  }

  private addDomain(at: Date): EmittedEvent {
    const member = this.random.pick(this.members);
    const taken = new Set(this.model.getOrganization(member.id).domains.map((d) => d.domain));
    let domain = this.candidates(member.slug).find((d) => !taken.has(d));
    if (domain === undefined) {
      this.extraDomains += 1;
      domain = `${member.slug}-${this.extraDomains}.net`;
    }
    const strategy = this.random.chance(0.85) ? 'dns' : 'manual';
    const event = this.model.addDomain(member.id, domain, { verificationStrategy: strategy }, at);
    this.pending.add(event.data.id);
    member.domains += 1;
    return event;
  }

  /** Only from organisations with another domain left: SSO needs at least one. */
  private removeDomain(at: Date): EmittedEvent {
    const member = this.random.pick(this.removable());
    const domain = this.random.pick(this.model.getOrganization(member.id).domains);
    this.pending.remove(domain.id);
    member.domains -= 1;
    return this.model.removeDomain(domain.id, at);
  }

  private removable(): Member[] {
    return this.members.filter((m) => m.domains > 1);
  }
}
