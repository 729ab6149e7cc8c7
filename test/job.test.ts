/**
 * The worker's overlap guard (pure, no database): a tick skipped while the job runs, any number
 * of nudges during a run one more run after it, nothing started once stopped, and a failure that
 * ends its run without starting another.
 */
import { describe, expect, it } from 'vitest';
import { FatalError } from '../src/errors.ts';
import { type GuardEvent, type GuardState, guardStep, job } from '../src/worker/job.ts';
import { capturingLogger } from './support/logs.ts';

describe('guardStep', () => {
  it.each<[GuardState, GuardEvent, boolean, GuardState, 'none' | 'scheduled' | 'nudged']>([
    ['idle', 'tick', false, 'running', 'scheduled'],
    ['idle', 'soon', false, 'running', 'nudged'],
    ['running', 'tick', false, 'running', 'none'],
    ['running', 'soon', false, 'again', 'none'],
    ['running', 'done', false, 'idle', 'none'],
    ['again', 'tick', false, 'again', 'none'],
    ['again', 'soon', false, 'again', 'none'],
    ['again', 'done', false, 'running', 'nudged'],
    ['idle', 'tick', true, 'idle', 'none'],
    ['idle', 'soon', true, 'idle', 'none'],
    ['running', 'soon', true, 'again', 'none'],
    ['running', 'done', true, 'idle', 'none'],
    ['again', 'done', true, 'idle', 'none'],
  ])('%s, %s (stopped: %s): %s, run %s', (state, event, stopped, next, run) => {
    expect(guardStep(state, event, stopped)).toEqual({ state: next, run });
  });
});

/** A job whose every run waits until the test ends it. */
function pausedJob() {
  const logs = capturingLogger();
  const stop = new AbortController();
  const fatal: FatalError[] = [];
  const runs: { end: (error?: Error) => void }[] = [];
  const after: number[] = [];
  let nudged = 0;
  const j = job(
    { log: logs.log, stopped: stop.signal, onFatal: (error) => fatal.push(error) },
    {
      name: 'poll',
      body: () =>
        new Promise<void>((resolve, reject) => {
          runs.push({ end: (error) => (error ? reject(error) : resolve()) });
        }),
      after: async (startedAt) => {
        after.push(startedAt);
      },
      onSoon: () => nudged++,
    },
  );
  /** Ends the run in flight and lets the guard decide what comes next. */
  const end = async (error?: Error) => {
    runs.at(-1)!.end(error);
    await j.settled();
  };
  return { j, logs, stop, fatal, runs, after, nudged: () => nudged, end };
}

describe('job', () => {
  it('skips ticks while running; nudges during a run are one more run, counted as nudged', async () => {
    const t = pausedJob();
    t.j.tick();
    t.j.tick();
    t.j.soon();
    t.j.soon();
    t.j.soon();
    expect(t.runs).toHaveLength(1);
    expect(t.nudged()).toBe(0);
    await t.end();
    expect(t.runs).toHaveLength(2);
    expect(t.nudged()).toBe(1);
    await t.end();
    expect(t.runs).toHaveLength(2);
    expect(t.after).toHaveLength(2);
  });

  it('a failed run is logged, skips `after` and starts nothing; the next tick runs again', async () => {
    const t = pausedJob();
    t.j.tick();
    await t.end(new Error('database unavailable'));
    expect(t.runs).toHaveLength(1);
    expect(t.after).toHaveLength(0);
    expect(t.fatal).toHaveLength(0);
    expect(t.logs.lines()).toEqual([
      expect.objectContaining({
        level: 50,
        job: 'poll',
        msg: 'poll failed; will try again on the next tick',
      }),
    ]);
    t.j.tick();
    expect(t.runs).toHaveLength(2);
  });

  it('a FatalError goes to onFatal, not to the log', async () => {
    const t = pausedJob();
    t.j.tick();
    const error = new FatalError('the API key was rejected');
    await t.end(error);
    expect(t.fatal).toEqual([error]);
    expect(t.logs.lines()).toEqual([]);
  });

  it('once stopped, starts nothing: neither a tick nor the run a nudge owed', async () => {
    const t = pausedJob();
    t.j.tick();
    t.j.soon();
    t.stop.abort();
    await t.end();
    t.j.tick();
    t.j.soon();
    expect(t.runs).toHaveLength(1);
  });
});
