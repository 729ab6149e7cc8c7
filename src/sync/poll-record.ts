/**
 * A poll's bookkeeping (`recordPoll`: `caught_up_at`, `last_poll_error`) is written after its
 * work, best effort: the batches already committed, so a failure to write it never fails the
 * poll. But `status`, the lag gauges and the stalled-poll alert read it, so a failure is not
 * silent either: it is said once when writing it starts failing and once when it works again (a
 * failing database would otherwise write a line per poll), and every one is counted.
 */
import type { Kysely } from 'kysely';
import type { Database } from '../db/tables.ts';
import type { Logger } from '../logger.ts';
import { recordPoll } from './events/cursor.ts';

export interface PollRecorder {
  record(db: Kysely<Database>, outcome: { caughtUp: boolean; error: string | null }): Promise<void>;
}

/** One per process that polls again and again (the worker), so that its state outlives a poll. */
export function pollRecorder(log: Logger, onFailure: () => void = () => {}): PollRecorder {
  let failing = false;
  return {
    async record(db, outcome) {
      try {
        await recordPoll(db, outcome);
      } catch (error) {
        onFailure();
        if (!failing)
          log.warn(
            { err: error },
            'could not record the poll (caught_up_at, last_poll_error): status and the stalled-poll alert may be stale until it is',
          );
        failing = true;
        return;
      }
      if (failing) log.info('the poll is recorded again');
      failing = false;
    },
  };
}
