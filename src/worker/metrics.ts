/**
 * Prometheus metrics of the worker, on a registry of its own (the global one would collide with
 * whatever else a host process registers, and would make tests share state).
 *
 * Two kinds: counters and histograms the worker feeds as things happen (events, polls, errors,
 * reconciliations, leases), and gauges read from the database at scrape time through the same
 * `readStatus` that `workos-sync status` prints — so a scrape reports the mirror as it is, even when
 * another replica is the one writing it (`status-gauges.ts`).
 */
import { Counter, Gauge, Histogram, Registry } from 'prom-client';
import { ERROR_KINDS, type ErrorKind } from '../errors.ts';
import type { LeaseName } from '../sync/lease.ts';
import { SYNCED_EVENT_TYPES } from '../workos/wire.ts';
import { registerStatusGauges, type StatusGaugeDeps } from './status-gauges.ts';

export interface SyncMetrics {
  readonly registry: Registry;
  /** One call per applied page: every event's type and outcome (applied|stale|ignored|quarantined). */
  recordEvents(events: readonly { event: string; outcome: string }[]): void;
  /** A poll pass ended (ok or failed) after `pages` pages and `refreshes` listings of one organization's connections. */
  recordPoll(result: { durationSeconds: number; pages: number; ok: boolean; refreshes?: number }): void;
  /** A WorkOS, database or hook error, by kind (`ERROR_KINDS` in errors.ts). */
  recordApiError(kind: ErrorKind): void;
  /** A reconciliation ended. */
  recordReconciliation(result: ReconciliationResult): void;
  /** A prune of the event log deleted these, by outcome (sync/prune.ts). */
  recordPruned(pruned: Readonly<Record<string, number>>): void;
  recordCursorRecovery(): void;
  /** A poll's bookkeeping (caught_up_at, last_poll_error) could not be written (sync/poll-record.ts). */
  recordPollRecordFailure(): void;
  setLeaseHeld(name: LeaseName, held: boolean): void;
  /** The webhook receiver answered a request (see WEBHOOK_RESULTS). */
  recordWebhook(result: WebhookResult): void;
  /** A poll started because of a webhook (or to keep looking for the event it named). */
  recordNudgedPoll(): void;
  /** An event a webhook named reached the mirror, this long after the delivery. */
  recordWebhookToApplied(seconds: number): void;
}

export interface ReconciliationResult {
  readonly durationSeconds: number;
  readonly ok: boolean;
  readonly dryRun: boolean;
  readonly inserted: number;
  readonly updated: number;
  readonly touched: number;
  readonly deleted: number;
  readonly unchanged: number;
  readonly certificatesUnparsable: number;
  /** What it fixed of organizations and their domains; null when it did not list them. */
  readonly organizations?: {
    readonly organizations: Readonly<Record<OrganizationDriftKind, number>>;
    readonly domains: Readonly<Record<OrganizationDriftKind, number>>;
  } | null;
}

export type MetricsDeps = StatusGaugeDeps;

export interface MetricsOptions {
  /**
   * How long a scrape waits for the database before giving up on the status gauges (and counting
   * a scrape error). Below Prometheus's default 10 s scrape timeout, so the counters still arrive.
   */
  readonly statusTimeoutMs?: number;
}

export const EVENT_OUTCOMES = ['applied', 'stale', 'ignored', 'quarantined'] as const;

/**
 * How the webhook receiver answered: `accepted` (verified, 200); refused with 401 as
 * `missing_signature`, `bad_signature` (does not verify) or `stale` (signed too long ago, e.g. a
 * replay); `bad_body` (400: not UTF-8 JSON with an id and a type); `too_large` (413),
 * `wrong_method` (405), `not_found` (404).
 */
export const WEBHOOK_RESULTS = [
  'accepted',
  'missing_signature',
  'bad_signature',
  'stale',
  'bad_body',
  'too_large',
  'wrong_method',
  'not_found',
] as const;
export type WebhookResult = (typeof WEBHOOK_RESULTS)[number];

const LEASES: readonly LeaseName[] = ['events', 'reconcile'];
const DRIFT_KINDS = ['inserted', 'updated', 'touched', 'deleted'] as const;
const ORGANIZATION_DRIFT_KINDS = ['inserted', 'updated', 'deleted'] as const;
type OrganizationDriftKind = (typeof ORGANIZATION_DRIFT_KINDS)[number];
const ORGANIZATION_ENTITIES = ['organizations', 'domains'] as const;
const PREFIX = 'workos_sync_';

// A poll pass is usually one short request, but a catch-up after an outage drains many pages.
const POLL_BUCKETS = [0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300];
const RECONCILE_BUCKETS = [0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600, 1800, 3600];

export function createMetrics(deps: MetricsDeps, options: MetricsOptions = {}): SyncMetrics {
  const registry = new Registry();
  const registers = [registry];
  const statusTimeoutMs = options.statusTimeoutMs ?? 5_000;

  const events = new Counter({
    name: `${PREFIX}events_total`,
    help: 'Events fetched from WorkOS and recorded, by event type and outcome (applied, stale, ignored, quarantined).',
    labelNames: ['type', 'outcome'] as const,
    registers,
  });
  const pollDuration = new Histogram({
    name: `${PREFIX}poll_duration_seconds`,
    help: 'Duration of one poll pass (draining the Events API from the cursor until caught up or failed).',
    buckets: POLL_BUCKETS,
    registers,
  });
  const polls = new Counter({
    name: `${PREFIX}polls_total`,
    help: 'Poll passes, by result (ok, failed).',
    labelNames: ['result'] as const,
    registers,
  });
  const pages = new Counter({
    name: `${PREFIX}pages_fetched_total`,
    help: 'Pages of events fetched from the WorkOS Events API.',
    registers,
  });
  const apiErrors = new Counter({
    name: `${PREFIX}api_errors_total`,
    help: `Errors waited out or stopped on (WorkOS, the database, an onChange hook), by kind (${ERROR_KINDS.join(', ')}).`,
    labelNames: ['kind'] as const,
    registers,
  });
  const drift = new Counter({
    name: `${PREFIX}reconciliation_drift_total`,
    help: 'Connections that reconciliation found out of date in the mirror and fixed, by kind (inserted, updated, touched: only the version was behind, deleted). Dry runs are not counted: the next real run finds the same drift.',
    labelNames: ['kind'] as const,
    registers,
  });
  const organizationDrift = new Counter({
    name: `${PREFIX}reconciliation_organization_drift_total`,
    help: 'Organizations and organization domains that reconciliation found out of date in the mirror and fixed, by entity (organization, domain) and kind (inserted, updated, deleted). Dry runs are not counted.',
    labelNames: ['entity', 'kind'] as const,
    registers,
  });
  const refreshes = new Counter({
    name: `${PREFIX}organization_refreshes_total`,
    help: "Listings of one organization's connections made for a batch's domain events (one per organization per batch: what a domain event costs in WorkOS requests, one per page of them).",
    registers,
  });
  const reconcileDuration = new Histogram({
    name: `${PREFIX}reconciliation_duration_seconds`,
    help: 'Duration of one reconciliation against List Connections.',
    buckets: RECONCILE_BUCKETS,
    registers,
  });
  const reconciliations = new Counter({
    name: `${PREFIX}reconciliations_total`,
    help: 'Reconciliations, by result (ok, failed) and whether they were dry runs.',
    labelNames: ['result', 'dry_run'] as const,
    registers,
  });
  const certificatesUnparsable = new Counter({
    name: `${PREFIX}reconciliation_certificates_unparsable_total`,
    help: 'SAML signing certificates in List Connections that could not be parsed to read their expiry.',
    registers,
  });
  const cursorRecoveries = new Counter({
    name: `${PREFIX}cursor_recoveries_total`,
    help: 'Times the Events API rejected the stored cursor and the mirror was recovered by reconciliation.',
    registers,
  });
  const pollRecordFailures = new Counter({
    name: `${PREFIX}poll_record_failures_total`,
    help: 'Polls whose bookkeeping (caught_up_at, last_poll_error) could not be written: status, the lag gauges and the stalled-poll alert read it.',
    registers,
  });
  const webhooks = new Counter({
    name: `${PREFIX}webhooks_total`,
    help: `Requests to the webhook receiver, by result (${WEBHOOK_RESULTS.join(', ')}).`,
    labelNames: ['result'] as const,
    registers,
  });
  const leaseHeld = new Gauge({
    name: `${PREFIX}lease_held`,
    help: 'Whether this process holds the lease (1) or not (0), by lease (events, reconcile).',
    labelNames: ['lease'] as const,
    registers,
  });

  // Zero series up front: a counter that only appears on its first increment makes rate() and
  // "absent" alerts misbehave, and every label value here comes from a closed set.
  for (const type of SYNCED_EVENT_TYPES) {
    for (const outcome of EVENT_OUTCOMES) events.inc({ type, outcome }, 0);
  }
  for (const result of ['ok', 'failed']) {
    polls.inc({ result }, 0);
    for (const dryRun of ['false', 'true']) reconciliations.inc({ result, dry_run: dryRun }, 0);
  }
  for (const kind of ERROR_KINDS) apiErrors.inc({ kind }, 0);
  for (const kind of DRIFT_KINDS) drift.inc({ kind }, 0);
  for (const entity of ORGANIZATION_ENTITIES)
    for (const kind of ORGANIZATION_DRIFT_KINDS)
      organizationDrift.inc({ entity: entityLabel(entity), kind }, 0);
  for (const lease of LEASES) leaseHeld.set({ lease }, 0);
  for (const result of WEBHOOK_RESULTS) webhooks.inc({ result }, 0);
  const pruned = new Counter({
    name: `${PREFIX}events_pruned_total`,
    help: 'Events deleted from the event log past the retention, by outcome.',
    labelNames: ['outcome'] as const,
    registers,
  });
  for (const outcome of EVENT_OUTCOMES) pruned.inc({ outcome }, 0);
  const nudgedPolls = new Counter({
    name: `${PREFIX}nudged_polls_total`,
    help: 'Polls started by a webhook, or to keep looking for the event one named, instead of by the schedule.',
    registers,
  });
  const webhookToApplied = new Histogram({
    name: `${PREFIX}webhook_to_applied_seconds`,
    help: 'From a webhook delivery to the event it named being in the mirror.',
    buckets: [0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10, 30],
    registers,
  });

  registerStatusGauges(deps, registry, PREFIX, statusTimeoutMs);

  return {
    registry,
    recordEvents(list) {
      for (const { event, outcome } of list) {
        events.inc({ type: eventTypeLabel(event), outcome: oneOf(EVENT_OUTCOMES, outcome) });
      }
    },
    recordPoll({ durationSeconds, pages: count, ok, refreshes: refreshed = 0 }) {
      pollDuration.observe(nonNegative(durationSeconds));
      polls.inc({ result: ok ? 'ok' : 'failed' });
      if (count > 0) pages.inc(count);
      if (refreshed > 0) refreshes.inc(refreshed);
    },
    recordApiError(kind) {
      apiErrors.inc({ kind });
    },
    recordReconciliation(result) {
      reconcileDuration.observe(nonNegative(result.durationSeconds));
      reconciliations.inc({ result: result.ok ? 'ok' : 'failed', dry_run: String(result.dryRun) });
      if (!result.dryRun) {
        for (const kind of DRIFT_KINDS) if (result[kind] > 0) drift.inc({ kind }, result[kind]);
        for (const entity of ORGANIZATION_ENTITIES) {
          for (const kind of ORGANIZATION_DRIFT_KINDS) {
            const n = result.organizations?.[entity][kind] ?? 0;
            if (n > 0) organizationDrift.inc({ entity: entityLabel(entity), kind }, n);
          }
        }
      }
      if (result.certificatesUnparsable > 0) certificatesUnparsable.inc(result.certificatesUnparsable);
    },
    recordPruned(counts) {
      for (const [outcome, n] of Object.entries(counts))
        if (n > 0) pruned.inc({ outcome: oneOf(EVENT_OUTCOMES, outcome) }, n);
    },
    recordCursorRecovery() {
      cursorRecoveries.inc();
    },
    recordPollRecordFailure() {
      pollRecordFailures.inc();
    },
    setLeaseHeld(name, held) {
      leaseHeld.set({ lease: oneOf(LEASES, name) }, held ? 1 : 0);
    },
    recordWebhook(result) {
      webhooks.inc({ result: oneOf(WEBHOOK_RESULTS, result) });
    },
    recordNudgedPoll() {
      nudgedPolls.inc();
    },
    recordWebhookToApplied(seconds) {
      webhookToApplied.observe(nonNegative(seconds));
    },
  };
}

/** The fleet's one webhook receiver: its answers, by environment where the path named one. */
export interface WebhookReceiverMetrics {
  readonly registry: Registry;
  /** `environment` undefined: a path of no environment with a secret (`not_found`). */
  recordWebhook(result: WebhookResult, environment: string | undefined): void;
}

/**
 * `workos_sync_webhooks_total{environment, result}` for the receiver of a fleet's environments
 * (`environments`: those with a path), every series from zero; a request to a path of none is
 * counted without the label. The same family as each environment's registry has (its zeros,
 * labelled by default), which a scrape of the fleet adds up by label set.
 */
export function createWebhookReceiverMetrics(environments: readonly string[]): WebhookReceiverMetrics {
  const registry = new Registry();
  const webhooks = new Counter({
    name: `${PREFIX}webhooks_total`,
    help: `Requests to the webhook receiver, by result (${WEBHOOK_RESULTS.join(', ')}).`,
    labelNames: ['environment', 'result'] as const,
    registers: [registry],
  });
  for (const environment of environments)
    for (const result of WEBHOOK_RESULTS) webhooks.inc({ environment, result }, 0);
  webhooks.inc({ result: 'not_found' }, 0);
  const known = new Set(environments);
  return {
    registry,
    recordWebhook(result, environment) {
      const labels = { result: oneOf(WEBHOOK_RESULTS, result) };
      webhooks.inc(environment !== undefined && known.has(environment) ? { ...labels, environment } : labels);
    },
  };
}

/**
 * Event types come from the API (and a malformed event can carry any string): only the types this
 * mirror handles get a series of their own, so a bad stream cannot blow up label cardinality.
 */
function eventTypeLabel(type: string): string {
  return (SYNCED_EVENT_TYPES as readonly string[]).includes(type) ? type : 'other';
}

function entityLabel(entity: (typeof ORGANIZATION_ENTITIES)[number]): string {
  return entity === 'organizations' ? 'organization' : 'domain';
}

function oneOf<T extends string>(allowed: readonly T[], value: string): T | 'other' {
  return (allowed as readonly string[]).includes(value) ? (value as T) : 'other';
}

function nonNegative(value: number): number {
  return Number.isFinite(value) && value > 0 ? value : 0;
}
