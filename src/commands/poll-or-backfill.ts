/** `poll` and `backfill`: catch up with the Events API, with progress and a summary. */

import type { Config } from '../config.ts';
import { scopedToEnvironment } from '../db/environment-scope.ts';
import { ConfigError, FatalError } from '../errors.ts';
import { readCursor } from '../sync/events/cursor.ts';
import type { PollTotals } from '../sync/events/poll-once.ts';
import { parseWorkosTimestamp } from '../time.ts';
import { count, duration, table } from './format.ts';
import { openEnvironment } from './open.ts';

export interface PollOrBackfillOptions {
  readonly since?: string | undefined;
  readonly json: boolean;
  readonly migrate: boolean;
  /** Print a progress line this often while pages are being applied (backfill). */
  readonly progressEveryMs?: number | undefined;
  /** Apply at most this many pages, then stop; the next run resumes from the cursor they leave. */
  readonly maxPages?: number | undefined;
  /** `--environment`: needed when the environments file declares several. */
  readonly environment?: string | undefined;
}

export async function pollOrBackfillCommand(
  name: 'poll' | 'backfill',
  config: Config,
  options: PollOrBackfillOptions,
): Promise<void> {
  const since = options.since === undefined ? undefined : parseSince(options.since);
  const { sync, log, environment } = await openEnvironment(config, {
    migrate: options.migrate,
    callsWorkos: true,
    environment: options.environment,
  });
  const stop = new AbortController();
  const onSignal = (signal: NodeJS.Signals) => {
    log.info({ signal }, 'stopping after the page in flight');
    stop.abort();
  };
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);

  try {
    log.info(`${name} started`);
    const cursor = await readCursor(
      scopedToEnvironment((await sync.database()).db, config.database.schema, environment.name),
    );
    if (since && cursor !== null) {
      log.warn({ cursor }, '--since is ignored: this database already has a cursor, catching up from it');
    }
    const started = performance.now();
    let lastProgress = started;
    const onPage = (t: PollTotals) => {
      const now = performance.now();
      if (options.progressEveryMs !== undefined && now - lastProgress >= options.progressEveryMs) {
        lastProgress = now;
        process.stderr.write(`${name}: ${count(t.events)} events, ${rate(t.events, now - started)}/s\n`);
      }
    };
    let totals: PollTotals;
    if (name === 'backfill') {
      const result = await environment.backfill({
        since,
        signal: stop.signal,
        onPage,
        maxPages: options.maxPages,
      });
      const first = result.reconciliation;
      const listed = first?.organizations
        ? `, ${count(first.organizations.organizations.seen)} organizations and ${count(first.organizations.domains.seen)} domains`
        : '';
      if (first && result.reconciledFor === 'organizations')
        process.stderr.write(
          `backfill: this mirror had never listed organizations (it predates them): reconciled first, ${count(first.counts.seen)} connections${listed}; no new backfill needed\n`,
        );
      else if (first)
        process.stderr.write(
          `backfill: reconciled ${count(first.counts.seen)} listed connections${listed} first\n`,
        );
      totals = result.totals;
    } else {
      totals = await environment.poll({ signal: stop.signal, onPage, maxPages: options.maxPages });
    }
    const elapsedMs = performance.now() - started;
    const bounded = options.maxPages !== undefined && totals.pages >= options.maxPages;
    log.info({ ...totals, elapsedMs: Math.round(elapsedMs) }, `${name} finished`);
    process.stdout.write(
      options.json
        ? `${JSON.stringify({ ...totals, elapsedMs })}\n`
        : summary(name, totals, elapsedMs, bounded),
    );
    if (!totals.caughtUp && !bounded)
      throw new FatalError(`${name} was interrupted before catching up; run it again to resume`);
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
    await sync.close();
  }
}

function parseSince(value: string): Date {
  const date =
    parseWorkosTimestamp(value) ??
    (/^\d{4}-\d{2}-\d{2}$/.test(value) ? new Date(`${value}T00:00:00Z`) : null);
  if (!date) throw new ConfigError(`--since must be an ISO 8601 date or time, got "${value}"`);
  return date;
}

function rate(events: number, ms: number): string {
  return count(Math.round(events / Math.max(ms / 1000, 0.001)));
}

function summary(name: string, t: PollTotals, elapsedMs: number, bounded: boolean): string {
  const how = t.caughtUp
    ? 'caught up'
    : bounded
      ? 'stopped at --max-pages (run it again to go on)'
      : 'stopped';
  return `${name} ${how} in ${duration(elapsedMs)}\n${table([
    ['events', `${count(t.events)} (${rate(t.events, elapsedMs)}/s over ${count(t.pages)} pages)`],
    ['applied', count(t.applied)],
    ['stale', count(t.stale)],
    ['ignored', count(t.ignored)],
    ['quarantined', count(t.quarantined)],
    ['duplicates', count(t.duplicate)],
    ['cursor', t.cursor ?? 'none'],
  ])}`;
}
