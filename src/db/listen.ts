/**
 * LISTEN on a Postgres session of its own, for as long as it is wanted. A session the server
 * drops (a restart, a failover) is replaced with backoff and the LISTEN issued again; what was
 * notified while none listened is lost, which its users allow for (a nudge's event is still
 * covered by the schedule).
 */
import type pg from 'pg';
import type { Logger } from '../logger.ts';
import { sleep } from '../time.ts';

/** A session outside the pool: listening holds it for good. */
export interface DedicatedSession {
  readonly client: pg.ClientBase;
  /** Ends it (a pooled client is destroyed, not returned: it is LISTENing). */
  release(): Promise<void>;
}

export interface Listening {
  /** Resolves once the first LISTEN is in place (so nothing sent after it is missed). */
  readonly ready: Promise<void>;
  close(): Promise<void>;
}

const RETRY_MS = { first: 500, longest: 30_000 };

export function listen(
  open: () => Promise<DedicatedSession>,
  channel: string,
  onPayload: (payload: string) => void,
  log: Logger,
): Listening {
  const closed = new AbortController();
  let session: DedicatedSession | undefined;
  let listening!: () => void;
  const ready = new Promise<void>((resolve) => {
    listening = resolve;
  });

  // One promise for the whole loop: a listener added per reconnect would pile up on the signal.
  const aborted = new Promise<void>((resolve) =>
    closed.signal.addEventListener('abort', () => resolve(), { once: true }),
  );

  const loop = (async () => {
    let failures = 0;
    while (!closed.signal.aborted) {
      try {
        session = await open();
        const lost = new Promise<unknown>((resolve) => {
          session!.client.once('error', resolve);
          session!.client.once('end', () => resolve(new Error('the session ended')));
        });
        session.client.on('notification', (n) => {
          if (n.channel === channel && n.payload !== undefined) onPayload(n.payload);
        });
        await session.client.query(`listen "${channel}"`);
        if (failures > 0) log.info({ channel }, 'listening again');
        failures = 0;
        listening();
        const cause = await Promise.race([lost, aborted]);
        if (closed.signal.aborted) break;
        throw cause;
      } catch (error) {
        if (closed.signal.aborted) break;
        if (failures++ === 0)
          log.warn({ err: error, channel }, 'lost the session that listens; reconnecting');
        await session?.release().catch(() => undefined);
        session = undefined;
        await sleep(Math.min(RETRY_MS.longest, RETRY_MS.first * 2 ** (failures - 1)), closed.signal);
      }
    }
  })();

  return {
    ready,
    async close() {
      closed.abort();
      listening();
      await session?.release().catch(() => undefined);
      await loop;
    },
  };
}
