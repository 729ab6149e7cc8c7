/**
 * Watching the mirror for the live-lag figures: a plain client polls `events` every
 * `WATCH_EVERY_MS` and takes, for each new event, the time it became visible minus its
 * `created_at` (WorkOS's time of the change).
 */
import type pg from 'pg';
import { SCHEMA } from './postgres.ts';

/** The resolution of every lag. */
export const WATCH_EVERY_MS = 10;

/** Waits until the mirror has `count` events; the newest one's `seq`. */
export async function waitForEvents(
  watcher: pg.Client,
  count: number,
  failed: () => Error | undefined,
): Promise<number> {
  while (true) {
    const error = failed();
    if (error) throw error;
    const { rows } = await watcher.query<{ n: string; seq: string | null }>(
      `select count(*) as n, max(seq) as seq from ${SCHEMA}.events`,
    );
    if (Number(rows[0]!.n) >= count) return Number(rows[0]!.seq);
    await sleep(50);
  }
}

export interface Lag {
  readonly eventId: string;
  readonly ms: number;
}

/**
 * The lag of each event after `afterSeq` while `streaming` runs, and for up to `graceMs` after it
 * ends (and the newest `seq` seen); throws when fewer became visible than the stream emitted.
 * With `check`, each event's row is handed to it as it becomes visible (it throws if what the
 * mirror answers then is wrong), and the lag is the time until that answer was right.
 */
export async function collectLags(
  watcher: pg.Client,
  afterSeq: number,
  streaming: Promise<number>,
  graceMs: number,
  failed: () => Error | undefined,
  check?: (event: { readonly id: string; readonly event: string; readonly data: unknown }) => Promise<void>,
): Promise<{
  readonly lags: number[];
  readonly byEvent: Lag[];
  readonly emitted: number;
  readonly lastSeq: number;
}> {
  const lags: number[] = [];
  const byEvent: Lag[] = [];
  let emitted: number | undefined;
  void streaming.then((n) => {
    emitted = n;
  });
  let lastSeq = afterSeq;
  let deadline = Number.POSITIVE_INFINITY;
  while (emitted === undefined || (lags.length < emitted && performance.now() < deadline)) {
    const error = failed();
    if (error) throw error;
    const { rows } = await watcher.query<{
      seq: string;
      id: string;
      event: string;
      data: unknown;
      created_at: Date;
    }>(`select seq, id, event, data, created_at from ${SCHEMA}.events where seq > $1 order by seq`, [
      lastSeq,
    ]);
    const seenAt = Date.now();
    for (const r of rows) {
      await check?.(r);
      const ms = seenAt - r.created_at.getTime();
      lags.push(ms);
      byEvent.push({ eventId: r.id, ms });
      lastSeq = Number(r.seq);
    }
    if (emitted !== undefined && deadline === Number.POSITIVE_INFINITY)
      deadline = performance.now() + graceMs;
    await sleep(WATCH_EVERY_MS);
  }
  const total = await streaming;
  if (lags.length < total) throw new Error(`only ${lags.length} of ${total} events became visible`);
  return { lags, byEvent, emitted: total, lastSeq };
}

export function percentile(sorted: readonly number[], p: number): number {
  return sorted[Math.max(0, Math.ceil(p * sorted.length) - 1)] ?? Number.NaN;
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/**
 * The same for a fleet: the lag of each event of `environments` written after the call, by
 * environment, while `streaming` runs (it resolves with how many it emitted) and for up to
 * `graceMs` after it ends. Each environment is read after its own newest `seq` (one writer at a
 * time per environment, its batches ordered by the cursor's lock, so its `seq`s become visible in
 * order; across environments they need not). Events not visible by then are not waited for: the
 * caller counts them from what it emitted.
 */
export async function collectEnvironmentLags(
  watcher: pg.Client,
  environments: readonly string[],
  streaming: Promise<number>,
  graceMs: number,
  failed: () => Error | undefined,
): Promise<{ readonly lags: ReadonlyMap<string, readonly number[]>; readonly emitted: number }> {
  const after = new Map<string, number>(environments.map((e) => [e, 0]));
  const { rows: newest } = await watcher.query<{ environment: string; seq: string }>(
    `select environment, max(seq) as seq from ${SCHEMA}.events where environment = any($1) group by environment`,
    [environments],
  );
  for (const r of newest) after.set(r.environment, Number(r.seq));
  const lags = new Map<string, number[]>(environments.map((e) => [e, []]));
  let seen = 0;
  let emitted: number | undefined;
  let streamError: unknown;
  void streaming.then(
    (n) => {
      emitted = n;
    },
    (error: unknown) => {
      streamError = error;
    },
  );
  let deadline = Number.POSITIVE_INFINITY;
  while (emitted === undefined || (seen < emitted && performance.now() < deadline)) {
    const error = failed() ?? (streamError as Error | undefined);
    if (error) throw error;
    const { rows } = await watcher.query<{ environment: string; seq: string; created_at: Date }>(
      `select e.environment, e.seq, e.created_at
         from unnest($1::text[], $2::bigint[]) as w(environment, after)
         join ${SCHEMA}.events e on e.environment = w.environment and e.seq > w.after
        order by e.seq`,
      [[...after.keys()], [...after.values()]],
    );
    const seenAt = Date.now();
    for (const r of rows) {
      lags.get(r.environment)!.push(seenAt - r.created_at.getTime());
      after.set(r.environment, Number(r.seq));
      seen++;
    }
    if (emitted !== undefined && deadline === Number.POSITIVE_INFINITY)
      deadline = performance.now() + graceMs;
    await sleep(WATCH_EVERY_MS);
  }
  return { lags, emitted };
}
