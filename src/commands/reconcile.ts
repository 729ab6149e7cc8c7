import type { Config } from '../config.ts';
import { LeaseHeldError } from '../errors.ts';
import type { EntityCounts } from '../sync/reconcile/plan-organizations.ts';
import type { ReconcileReport } from '../sync/reconcile/reconcile.ts';
import { count, duration, table } from './format.ts';
import { openEnvironment } from './open.ts';

const DRIFT_LINES = 50;
/** Nothing ran: another process holds the reconcile lease and `--no-wait` was given. */
export const LEASE_HELD_EXIT = 4;

export async function reconcileCommand(
  config: Config,
  options: {
    readonly dryRun: boolean;
    readonly json: boolean;
    readonly migrate: boolean;
    readonly maxPages?: number | undefined;
    /** `--environment`: needed when the environments file declares several. */
    readonly environment?: string | undefined;
    /** `--no-wait`: false, and the reconcile lease held by another process: exit 4 at once. */
    readonly wait: boolean;
  },
): Promise<number> {
  const { sync, environment } = await openEnvironment(config, {
    migrate: options.migrate,
    callsWorkos: true,
    environment: options.environment,
  });
  try {
    return await unlessLeaseHeld(async () => {
      const report = await environment.reconcile({
        dryRun: options.dryRun,
        maxPages: options.maxPages,
        wait: options.wait,
      });
      process.stdout.write(options.json ? `${JSON.stringify(report)}\n` : formatReport(report));
      return 0;
    });
  } finally {
    await sync.close();
  }
}

/** A command under a lease (`reconcile`, `prune`) given `--no-wait`: held by another, it says so, exit 4. */
export async function unlessLeaseHeld(run: () => Promise<number>): Promise<number> {
  try {
    return await run();
  } catch (error) {
    if (!(error instanceof LeaseHeldError)) throw error;
    process.stderr.write(`workos-sync: ${error.message}; not waiting for it (--no-wait)\n`);
    return LEASE_HELD_EXIT;
  }
}

/** One line of an organization listing's counts; a run short of the listing's end lists none. */
function entityLine(counts: EntityCounts | undefined): string {
  return counts
    ? `${count(counts.seen)} seen: ${count(counts.inserted)} inserted, ${count(counts.updated)} updated, ${count(counts.deleted)} deleted`
    : 'not listed by this run (a bounded pass lists them in the run that reaches the end)';
}

export function formatReport(r: ReconcileReport): string {
  const c = r.counts;
  const head = r.dryRun
    ? `dry run: reconciliation would change the following (nothing was written), ${duration(r.durationMs)}\n`
    : `reconciliation #${r.runId} succeeded in ${duration(r.durationMs)}\n`;
  const partial = r.listingComplete
    ? ''
    : `stopped at --max-pages, ${count(r.pages)} page(s) into the listing: run it again to continue (deletions wait for the listing's end)\n`;
  const lines = r.drift
    .slice(0, DRIFT_LINES)
    .map(
      (d) =>
        `  ${d.kind.padEnd(8)} ${d.id} ${JSON.stringify(d.name)}${d.changes.length ? `: ${d.changes.join('; ')}` : ''}`,
    );
  if (r.drift.length > DRIFT_LINES) lines.push(`  … and ${count(r.drift.length - DRIFT_LINES)} more`);
  return `${head}${partial}${table([
    ['seen', `${count(c.seen)} connections over ${count(r.pages)} pages`],
    ['inserted', count(c.inserted)],
    ['updated', count(c.updated)],
    ['touched', `${count(c.touched)} (same content, newer version)`],
    ['deleted', count(c.deleted)],
    ['unchanged', count(c.unchanged)],
    ['invalid', count(c.invalid)],
    [
      'certificates',
      `${count(c.certificatesUpdated)} learned from the listing, ${count(c.certificatesUnparsable)} unparsable`,
    ],
    ['organizations', entityLine(r.organizations?.organizations)],
    ['domains', entityLine(r.organizations?.domains)],
  ])}${lines.length ? `drift:\n${lines.join('\n')}\n` : ''}`;
}
