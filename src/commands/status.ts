/**
 * `status`: with `--environment`, that environment's report; without, every environment's — the
 * mirror's (those with `sync_state` rows) and the declared ones not started yet. Without a file,
 * a mirror of the one environment `default` prints the one report, as it always has.
 */
import { type Config, environmentFor, secretsOf } from '../config.ts';
import { DEFAULT_ENVIRONMENT } from '../db/environment-scope.ts';
import { secretScrubber } from '../logger.ts';
import type { DriftCounts, EnvironmentStatus, StatusReport } from '../sync/status.ts';
import type { EnvironmentsStatus } from '../workos-sync.ts';
import { ago, count, table } from './format.ts';
import { openSync } from './open.ts';

export async function statusCommand(
  config: Config,
  options: { readonly json: boolean; readonly migrate: boolean; readonly environment?: string | undefined },
) {
  const name =
    options.environment === undefined ? undefined : environmentFor(config, options.environment).name;
  const { sync } = await openSync(config, { migrate: options.migrate });
  try {
    let output: string;
    if (name !== undefined) {
      const report = await sync.environment(name).status();
      output = options.json
        ? `${JSON.stringify({ environment: name, ...report }, null, 2)}\n`
        : formatStatus(report, report.database, name);
    } else {
      const all = await sync.environmentsStatus();
      const [only, ...others] = all.environments;
      if (
        config.environmentsFile === null &&
        only?.environment === DEFAULT_ENVIRONMENT &&
        others.length === 0
      ) {
        // The one environment of the settings: the report as it always was.
        const { environment: _name, declared: _declared, started: _started, ...report } = only;
        output = options.json
          ? `${JSON.stringify({ ...report, database: all.database }, null, 2)}\n`
          : formatStatus(report, all.database);
      } else {
        output = options.json ? `${JSON.stringify(all, null, 2)}\n` : formatEnvironments(all, config);
      }
    }
    // The report's error texts are scrubbed; the database's description is printed here too.
    process.stdout.write(secretScrubber(secretsOf(config))(output));
  } finally {
    await sync.close();
  }
}

/** Every environment: one row each, then those not started yet and those no longer declared. */
export function formatEnvironments(all: EnvironmentsStatus, config: Config): string {
  const file = config.environmentsFile;
  const declared = all.environments.filter((e) => e.declared).length;
  const head = table([
    ['database', all.database],
    [
      'environments',
      `${count(all.environments.length)}${file ? ` (${count(declared)} declared in ${file.file})` : ''}`,
    ],
  ]);
  const rows = all.environments.map((e) => [
    e.environment,
    e.cursor ?? 'none',
    e.lagSeconds === null ? 'unknown' : `${e.lagSeconds.toFixed(1)} s`,
    lease(e),
    lastReconciliation(e),
    count(e.quarantined),
    e.lastPollError === null ? 'none' : e.lastPollError.replace(/\s+/g, ' '),
  ]);
  const notes = [
    note('not started yet (declared, nothing synced)', all.environments, (e) => e.declared && !e.started),
    note('no longer declared (its rows are kept, nothing polls it)', all.environments, (e) => !e.declared),
  ].filter((line) => line !== '');
  return `${head}\n${columns([
    ['environment', 'cursor', 'lag', 'lease', 'last reconciliation', 'quarantined', 'last poll error'],
    ...rows,
  ])}${notes.map((line) => `${line}\n`).join('')}`;
}

function lease(s: StatusReport): string {
  if (!s.lease) return 'none';
  return `${s.lease.holder}${s.lease.expired ? ' (expired)' : ` until ${s.lease.expiresAt.toISOString()}`}`;
}

function lastReconciliation(s: StatusReport): string {
  const run = s.lastReconciliation;
  if (!run) return 'never';
  return run.finishedAt
    ? `${run.status} at ${run.finishedAt.toISOString()}`
    : `${run.status} since ${run.startedAt.toISOString()}`;
}

function note(
  what: string,
  environments: readonly EnvironmentStatus[],
  which: (e: EnvironmentStatus) => boolean,
) {
  const names = environments.filter(which).map((e) => e.environment);
  return names.length > 0 ? `${what}: ${names.join(', ')}` : '';
}

/** Rows under a header, each column as wide as its widest cell (the last one unpadded). */
function columns(rows: readonly (readonly string[])[]): string {
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((row) => row[i]!.length)));
  return rows
    .map(
      (row) =>
        `${row.map((cell, i) => (i === row.length - 1 ? cell : cell.padEnd(widths[i]!))).join('  ')}\n`,
    )
    .join('');
}

export function formatStatus(s: StatusReport, database: string, environment?: string): string {
  const e = s.counts.events;
  const run = s.lastReconciliation;
  return table([
    ['database', database],
    ...(environment === undefined ? [] : [['environment', environment] as const]),
    ['cursor', s.cursor ? `${s.cursor} (moved ${ago(s.cursorAgeSeconds)})` : 'none (nothing applied yet)'],
    [
      'last poll',
      `${ago(s.lastPollAt ? secondsSince(s.lastPollAt) : null)}${s.lastPollError ? ` — failing: ${s.lastPollError}` : ''}`,
    ],
    ['lag', s.lagSeconds === null ? 'unknown' : `${s.lagSeconds.toFixed(1)} s`],
    [
      'lease',
      s.lease
        ? `${s.lease.holder}${s.lease.expired ? ' (expired)' : ` until ${s.lease.expiresAt.toISOString()}`}`
        : 'none',
    ],
    ['connections', `${count(s.counts.liveConnections)} live, ${count(s.counts.deletedConnections)} deleted`],
    ['domains', `${count(s.counts.domains)} listed by connections`],
    [
      'organizations',
      `${count(s.counts.liveOrganizations)} live, ${count(s.counts.deletedOrganizations)} deleted; domains ${byState(s.counts.organizationDomains)}`,
    ],
    [
      'certificates',
      `${count(s.counts.certificates)} (${count(s.expiringCertificates.within14Days)} expiring within 14 days, ${count(s.expiringCertificates.within30Days)} within 30, ${count(s.expiringCertificates.expired)} expired)`,
    ],
    [
      'events',
      `${count(e.applied)} applied, ${count(e.stale)} stale, ${count(e.ignored)} ignored, ${count(e.quarantined)} quarantined`,
    ],
    [
      'oldest event',
      s.oldestEventCreatedAt
        ? `created ${s.oldestEventCreatedAt.toISOString()} (${ago(secondsSince(s.oldestEventCreatedAt))}), the oldest the event log keeps`
        : 'none kept',
    ],
    [
      'last reconciliation',
      run
        ? `#${run.id} ${run.status} at ${run.startedAt.toISOString()}: ${run.seen} seen, ${run.inserted} inserted, ${run.updated} updated, ${run.touched} touched, ${run.deleted} deleted, ${run.unchanged} unchanged${drift('organizations', run.organizations)}${drift('domains', run.domains)}`
        : 'never',
    ],
  ]);
}

/** `3 verified, 1 pending`; `none` when there are none. */
function byState(counts: Readonly<Record<string, number>>): string {
  const parts = Object.entries(counts)
    .sort(([, a], [, b]) => b - a)
    .map(([state, n]) => `${count(n)} ${state}`);
  return parts.length > 0 ? parts.join(', ') : 'none';
}

function drift(what: string, counts: DriftCounts | null): string {
  return counts
    ? `; ${what} ${counts.inserted} inserted, ${counts.updated} updated, ${counts.deleted} deleted`
    : '';
}

function secondsSince(date: Date): number {
  return Math.max(0, (Date.now() - date.getTime()) / 1000);
}
