/**
 * A webhook reaches whichever replica the load balancer picked, and only the events lease holder
 * polls. So the replica that received it announces the nudge (`NOTIFY <schema>_nudge`), every
 * replica listens there on a session of its own (db/listen.ts, reconnecting after a database
 * restart), and each hands it to its worker, which acts on it only while it holds the lease. With
 * no session of its own to listen on (the application's Kysely, the embedded database: one
 * process), a nudge goes straight to the local worker.
 *
 * A nudge names its environment: `{"environment", "eventId", "receivedAt"}`. Every replica hears
 * every nudge, and passes it only to the worker of that environment if it runs one (the fleet:
 * its share; the single-environment worker: `default` alone); a replica that does not run it
 * ignores it. A nudge without an environment comes from a release before environments, whose
 * replicas received only `default`'s webhooks: it is `default`'s.
 */
import { type Kysely, sql } from 'kysely';
import { DEFAULT_ENVIRONMENT } from '../../db/environment-scope.ts';
import { type DedicatedSession, type Listening, listen } from '../../db/listen.ts';
import type { Database } from '../../db/tables.ts';
import type { Logger } from '../../logger.ts';
import { parseTraceparent, traceparent } from '../../tracing.ts';
import type { Nudge } from './nudges.ts';

export interface NudgeBusDeps {
  readonly db: Kysely<Database>;
  readonly log: Logger;
  readonly dedicatedSession?: (() => Promise<DedicatedSession>) | undefined;
}

/** A nudge as the bus carries it: for one environment's worker. */
export interface EnvironmentNudge extends Nudge {
  readonly environment: string;
}

export interface NudgeBus {
  /** Resolves once this replica listens (nudges sent after that reach it). */
  readonly ready: Promise<void>;
  send(nudge: EnvironmentNudge): void;
  close(): Promise<void>;
}

export function nudgeChannel(schema: string): string {
  return `${schema}_nudge`;
}

export function startNudgeBus(
  deps: NudgeBusDeps,
  channel: string,
  deliver: (nudge: EnvironmentNudge) => void,
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
      const payload = nudgePayload(nudge);
      sql`select pg_notify(${channel}, ${payload})`.execute(deps.db).catch((error: unknown) => {
        // The database is away: this replica may still be the holder.
        deps.log.warn({ err: error }, 'could not pass a webhook on to the other replicas; nudging this one');
        deliver(nudge);
      });
    },
    close: () => listening.close(),
  };
}

/** What goes on the channel: the environment, the event id and when the delivery was received. */
export function nudgePayload(nudge: EnvironmentNudge): string {
  return JSON.stringify({
    environment: nudge.environment,
    eventId: nudge.eventId,
    receivedAt: nudge.receivedAt.toISOString(),
    ...(nudge.span ? { traceparent: traceparent(nudge.span) } : {}),
  });
}

/** A payload heard on the channel; undefined for what is not a nudge. */
export function parseNudge(payload: string): EnvironmentNudge | undefined {
  try {
    const {
      environment,
      eventId,
      receivedAt,
      traceparent: parent,
    } = JSON.parse(payload) as {
      environment?: unknown;
      eventId?: unknown;
      receivedAt?: unknown;
      traceparent?: unknown;
    };
    const at = typeof receivedAt === 'string' ? new Date(receivedAt) : undefined;
    const whose = environment === undefined ? DEFAULT_ENVIRONMENT : environment;
    if (typeof whose === 'string' && typeof eventId === 'string' && at && !Number.isNaN(at.getTime()))
      return { environment: whose, eventId, receivedAt: at, span: parseTraceparent(parent) };
  } catch {
    // Not ours: someone else's NOTIFY on the channel.
  }
  return undefined;
}
