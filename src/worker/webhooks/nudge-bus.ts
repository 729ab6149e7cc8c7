/**
 * A webhook reaches whichever replica the load balancer picked, and only the events lease holder
 * polls. So the replica that received it announces the nudge (`NOTIFY <schema>_nudge`), every
 * replica listens there on a session of its own (db/listen.ts, reconnecting after a database
 * restart), and each hands it to its worker, which acts on it only while it holds the lease. With
 * no session of its own to listen on (the application's Kysely, the embedded database: one
 * process), a nudge goes straight to the local worker.
 */
import { type Kysely, sql } from 'kysely';
import { type DedicatedSession, type Listening, listen } from '../../db/listen.ts';
import type { Database } from '../../db/tables.ts';
import type { Logger } from '../../logger.ts';
import type { Nudge } from './nudges.ts';

export interface NudgeBusDeps {
  readonly db: Kysely<Database>;
  readonly log: Logger;
  readonly dedicatedSession?: (() => Promise<DedicatedSession>) | undefined;
}

export interface NudgeBus {
  /** Resolves once this replica listens (nudges sent after that reach it). */
  readonly ready: Promise<void>;
  send(nudge: Nudge): void;
  close(): Promise<void>;
}

export function nudgeChannel(schema: string): string {
  return `${schema}_nudge`;
}

export function startNudgeBus(
  deps: NudgeBusDeps,
  channel: string,
  deliver: (nudge: Nudge) => void,
): NudgeBus {
  const open = deps.dedicatedSession;
  if (!open) return { ready: Promise.resolve(), send: deliver, close: async () => {} };
  const listening: Listening = listen(
    open,
    channel,
    (payload) => {
      const parsed = parseNudge(payload);
      if (parsed) deliver(parsed);
    },
    deps.log,
  );
  return {
    ready: listening.ready,
    send(nudge) {
      const payload = JSON.stringify({ eventId: nudge.eventId, receivedAt: nudge.receivedAt.toISOString() });
      sql`select pg_notify(${channel}, ${payload})`.execute(deps.db).catch((error: unknown) => {
        // The database is away: this replica may still be the holder.
        deps.log.warn({ err: error }, 'could not pass a webhook on to the other replicas; nudging this one');
        deliver(nudge);
      });
    },
    close: () => listening.close(),
  };
}

function parseNudge(payload: string): Nudge | undefined {
  try {
    const { eventId, receivedAt } = JSON.parse(payload) as { eventId?: unknown; receivedAt?: unknown };
    const at = typeof receivedAt === 'string' ? new Date(receivedAt) : undefined;
    if (typeof eventId === 'string' && at && !Number.isNaN(at.getTime())) return { eventId, receivedAt: at };
  } catch {
    // Not ours: someone else's NOTIFY on the channel.
  }
  return undefined;
}
