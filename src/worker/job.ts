/**
 * Our own overlap guard: node-cron's warns on every skipped tick, and long drains skip many. A
 * tick that finds the job running is skipped; `soon()` (a nudge) runs it once more afterwards,
 * so any number of nudges during one run are one more run. Once the worker stops, no run starts.
 * A run that fails is over: a `FatalError` goes to `onFatal`, any other is logged, and the next
 * tick (never the failure itself) starts the next run.
 */
import { FatalError } from '../errors.ts';
import type { Logger } from '../logger.ts';

/** `again`: running, and owing one more run to a nudge that came meanwhile. */
export type GuardState = 'idle' | 'running' | 'again';
/** A scheduled tick, a nudge (`soon()`), or the end of the run in flight. */
export type GuardEvent = 'tick' | 'soon' | 'done';

export interface GuardStep {
  readonly state: GuardState;
  readonly run: 'none' | 'scheduled' | 'nudged';
}

/** What the guard does on `event`: its next state, and whether a run starts now. */
export function guardStep(state: GuardState, event: GuardEvent, stopped: boolean): GuardStep {
  const start = (run: 'scheduled' | 'nudged'): GuardStep =>
    stopped ? { state: 'idle', run: 'none' } : { state: 'running', run };
  switch (event) {
    case 'tick':
      return state === 'idle' ? start('scheduled') : { state, run: 'none' };
    case 'soon':
      return state === 'idle' ? start('nudged') : { state: 'again', run: 'none' };
    case 'done':
      return state === 'again' ? start('nudged') : { state: 'idle', run: 'none' };
  }
}

export interface JobDeps {
  readonly log: Logger;
  /** Aborted when the worker stops. */
  readonly stopped: AbortSignal;
  readonly onFatal: (error: FatalError) => void;
}

export interface JobSpec {
  readonly name: string;
  readonly body: () => Promise<void>;
  /** After each run whose body succeeded, with the time it started (`Date.now()`'s clock). */
  readonly after?: ((startedAt: number) => Promise<void>) | undefined;
  /** Told as each nudged run starts. */
  readonly onSoon?: (() => void) | undefined;
}

export interface Job {
  tick(): void;
  soon(): void;
  /** Settles when the run in flight, if any, has ended. */
  settled(): Promise<void>;
}

export function job(deps: JobDeps, spec: JobSpec): Job {
  let state: GuardState = 'idle';
  let inFlight: Promise<void> | undefined;

  const on = (event: GuardEvent): void => {
    const step = guardStep(state, event, deps.stopped.aborted);
    state = step.state;
    if (step.run !== 'none') start(step.run === 'nudged');
  };

  const start = (nudged: boolean): void => {
    if (nudged) spec.onSoon?.();
    const startedAt = Date.now();
    inFlight = spec
      .body()
      .then(() => spec.after?.(startedAt))
      .catch((error: unknown) => {
        if (error instanceof FatalError) deps.onFatal(error);
        else
          deps.log.error(
            { err: error, job: spec.name },
            `${spec.name} failed; will try again on the next tick`,
          );
      })
      .finally(() => {
        inFlight = undefined;
        on('done');
      });
  };

  return {
    tick: () => on('tick'),
    soon: () => on('soon'),
    settled: () => inFlight ?? Promise.resolve(),
  };
}
