/**
 * A paced worker, as each environment of a fleet runs (src/worker/pacing.ts): in process, real
 * Postgres, the emulator over HTTP, polling every second with a backoff bound of 8 s. Idle, its
 * polls back off to the bound; a change no webhook announced still reaches the mirror within the
 * bound (and the poll); a webhook's nudge brings the polls back to the schedule at once; the
 * reconcile schedule's fires reach it by its offset. The single-environment worker, unpaced, is
 * what the rest of the suite runs.
 */
import { afterEach, beforeEach, expect, it } from 'vitest';
import { generateScenario, WorkosModel } from '../emulator/index.ts';
import { readCursor } from '../src/sync/events/cursor.ts';
import { createMetrics } from '../src/worker/metrics.ts';
import { startWorker, type Worker } from '../src/worker/worker.ts';
import { requestPriority } from '../src/workos/client.ts';
import { workosConnectionsSource } from '../src/workos/connections-source.ts';
import { workosEventsSource } from '../src/workos/events-source.ts';
import { capturingLogger, noSecrets } from './support/logs.ts';
import { FAST_BACKOFF, type SyncHarness, startHarness } from './support/sync.ts';
import { until } from './support/worker-process.ts';

const BOUND_MS = 8_000;
/** What a timer and a poll may add on a busy machine. */
const SLACK_MS = 2_500;

let h: SyncHarness;
let worker: Worker | undefined;
/** When each request for a page of events was made (an idle poll is one). */
let polls: number[];
/** The priority each of them had at the request budget (workos/client.ts). */
let priorities: string[];

beforeEach(async () => {
  const model = new WorkosModel({ seed: 31 });
  generateScenario(model, { seed: 31, events: 40 });
  h = await startHarness({ model });
  polls = [];
  priorities = [];
});

afterEach(async () => {
  await worker?.stop();
  worker = undefined;
  await h.close();
});

function start() {
  const db = h.database.db;
  const logs = capturingLogger();
  const events = workosEventsSource(h.workos);
  worker = startWorker(
    {
      db,
      events: {
        listEvents(request) {
          polls.push(Date.now());
          priorities.push(requestPriority()());
          return events.listEvents(request);
        },
      },
      connections: workosConnectionsSource(h.workos),
      log: logs.log,
      scrub: noSecrets,
      metrics: createMetrics({ db, log: logs.log }),
    },
    {
      pollCron: '* * * * * *',
      reconcileCron: '*/4 * * * * *',
      holder: 'this-replica',
      leaseTtlMs: 3_000,
      backoff: FAST_BACKOFF,
      lookForMs: 1,
      pacing: {
        idlePollMaxMs: BOUND_MS,
        pollOffsetMs: 0,
        pollPhase: 0,
        reconcileOffsetMs: 2_000,
      },
      onFatal: (error) => {
        throw error;
      },
    },
  );
  return worker;
}

const caughtUp = async () => (await readCursor(h.database.db)) === h.emulator.model.events().at(-1)!.id;
const gaps = (times: number[]) => times.slice(1).map((t, i) => t - times[i]!);
/** Polls since `from`, the first one `from` itself when it was a poll. */
const pollsSince = (from: number) => polls.filter((t) => t >= from);

it(
  'idle, backs off to the bound; a change still arrives within it; a nudge brings the schedule back at once',
  { timeout: 120_000 },
  async () => {
    const w = start();
    await until(caughtUp, 30_000, () => 'never caught up');

    // Idle: the gaps between polls grow to the bound, and never beyond it.
    await until(
      () => gaps(polls).some((g) => g >= BOUND_MS - 1_500),
      40_000,
      () => `gaps ${gaps(polls)}`,
    );
    expect(Math.max(...gaps(polls))).toBeLessThanOrEqual(BOUND_MS + SLACK_MS);

    // A nudge: the poll it starts finds nothing (the event it names is not listed), and the
    // next ones come on the schedule's ladder again — the next fire, then 2, then 4 (the first
    // poll to end after a nudge leaves the schedule, even one that was running when it came) —
    // where the bound would have allowed one poll in that time at most.
    const nudgedAt = Date.now();
    const routineBefore = priorities.length;
    expect(new Set(priorities)).toEqual(new Set(['routine']));
    w.nudge({ eventId: 'event_01NOTLISTEDYET000000000000', receivedAt: new Date() });
    await new Promise((resolve) => setTimeout(resolve, 6_500));
    expect(
      pollsSince(nudgedAt).length,
      `polls after the nudge: ${gaps([nudgedAt, ...pollsSince(nudgedAt)])}`,
    ).toBeGreaterThanOrEqual(3);
    // The poll the nudge started looked for a webhook's event: urgent at the budget. Given up
    // (looked for 1 ms), the polls after it are routine again.
    expect(priorities.slice(routineBefore)[0]).toBe('urgent');
    expect(priorities.at(-1)).toBe('routine');

    // Idle at the bound again; a change right after a poll waits at most the bound.
    await until(
      () => {
        const recent = gaps(pollsSince(nudgedAt));
        return recent.length > 0 && recent.at(-1)! >= BOUND_MS - 1_500;
      },
      40_000,
      () => `gaps ${gaps(pollsSince(nudgedAt))}`,
    );
    const after = polls.length;
    await until(() => polls.length > after, BOUND_MS + SLACK_MS);
    const changedAt = Date.now();
    const c = h.emulator.model.createConnection({ name: 'changed while idle' });
    h.emulator.model.activate(c.id);
    await until(
      caughtUp,
      BOUND_MS + SLACK_MS,
      () => `not applied; polls since: ${pollsSince(changedAt).length}`,
    );

    // The reconcile schedule fires every 4 s; each reaches it 2 s late.
    const runs = await h.database.db.selectFrom('reconciliation_runs').select('started_at').execute();
    const scheduled = runs.slice(1); // the first is the new mirror's, at once
    expect(scheduled.length).toBeGreaterThan(0);
    for (const run of scheduled)
      expect(Math.floor(run.started_at.getTime() / 1_000) % 4).toBeGreaterThanOrEqual(2);
  },
);
