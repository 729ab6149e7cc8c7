import type { Config } from '../config.ts';
import type { PruneReport } from '../sync/prune.ts';
import { count } from './format.ts';
import { openEnvironment } from './open.ts';
import { unlessLeaseHeld } from './reconcile.ts';

export async function pruneCommand(
  config: Config,
  options: {
    readonly dryRun: boolean;
    readonly quarantined: boolean;
    readonly json: boolean;
    readonly migrate: boolean;
    readonly environment?: string | undefined;
    /** `--no-wait`: false, and the prune lease held by another process: exit 4 at once. */
    readonly wait: boolean;
  },
): Promise<number> {
  const { sync, environment } = await openEnvironment(config, {
    migrate: options.migrate,
    environment: options.environment,
  });
  try {
    return await unlessLeaseHeld(async () => {
      const report = await environment.prune({
        dryRun: options.dryRun,
        quarantined: options.quarantined || undefined, // unset: the setting's
        wait: options.wait,
      });
      process.stdout.write(options.json ? `${JSON.stringify(report)}\n` : formatPrune(report));
      return 0;
    });
  } finally {
    await sync.close();
  }
}

export function formatPrune(r: PruneReport): string {
  if (r.retentionDays === null)
    return 'the event log keeps events forever (WORKOS_SYNC_EVENTS_RETENTION_DAYS=forever): nothing to prune\n';
  const total = Object.values(r.pruned).reduce((sum, n) => sum + n, 0);
  const outcomes = Object.entries(r.pruned)
    .map(([outcome, n]) => `${outcome} ${count(n)}`)
    .join(', ');
  return r.dryRun
    ? `dry run: ${count(total)} events older than ${r.retentionDays} days would be pruned (${outcomes}); nothing was deleted\n`
    : `pruned ${count(total)} events older than ${r.retentionDays} days in ${count(r.batches)} batches (${outcomes})\n`;
}
