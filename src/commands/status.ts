import { type Config, secretsOf } from '../config.ts';
import { secretScrubber } from '../logger.ts';
import type { DriftCounts, StatusReport } from '../sync/status.ts';
import { ago, count, table } from './format.ts';
import { openSync } from './open.ts';

export async function statusCommand(
  config: Config,
  options: { readonly json: boolean; readonly migrate: boolean },
) {
  const { sync } = await openSync(config, { migrate: options.migrate });
  try {
    const report = await sync.status();
    // The report's error texts are scrubbed; the database's description is printed here too.
    const scrub = secretScrubber(secretsOf(config));
    process.stdout.write(
      scrub(options.json ? `${JSON.stringify(report, null, 2)}\n` : formatStatus(report, report.database)),
    );
  } finally {
    await sync.close();
  }
}

export function formatStatus(s: StatusReport, database: string): string {
  const e = s.counts.events;
  const run = s.lastReconciliation;
  return table([
    ['database', database],
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
