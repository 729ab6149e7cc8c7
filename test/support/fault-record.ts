/**
 * What the network-fault tests check a worker against, read from the database rather than hoped
 * for: every change of the `events` stream's row (cursor, last poll error) as it committed, written
 * by a trigger in the same transaction, so a state that lasted a millisecond is still seen; and the
 * mirror and outcomes an uninterrupted backfill of the same WorkOS gives.
 */
import { type Kysely, sql } from 'kysely';
import pino from 'pino';
import { expect } from 'vitest';
import type { Database } from '../../src/db/tables.ts';
import { createWorkosSync } from '../../src/index.ts';
import { createTestDatabase, type TestDatabase } from './database.ts';
import { type MirrorContents, mirrorOf } from './mirror.ts';
import { API_KEY } from './sync.ts';

/** One change of the `events` stream's row: its cursor moved, or its last poll error changed. */
export interface StreamChange {
  readonly kind: 'cursor' | 'error';
  readonly from: string | null;
  readonly to: string | null;
}

/** Installs the trigger (after the migrations); `changes()` reads what it recorded so far, in order. */
export async function recordStreamChanges(
  db: Kysely<Database>,
): Promise<{ changes(): Promise<StreamChange[]> }> {
  await sql`create table public.stream_changes (
    seq bigserial primary key, kind text not null, "from" text, "to" text)`.execute(db);
  await sql`create function public.record_stream_change() returns trigger language plpgsql as $$
    begin
      if new.stream = 'events' and new.cursor is distinct from old.cursor then
        insert into public.stream_changes (kind, "from", "to") values ('cursor', old.cursor, new.cursor);
      end if;
      if new.stream = 'events' and new.last_poll_error is distinct from old.last_poll_error then
        insert into public.stream_changes (kind, "from", "to")
          values ('error', old.last_poll_error, new.last_poll_error);
      end if;
      return new;
    end $$`.execute(db);
  await sql`create trigger record_stream_change after update on workos.sync_state
    for each row execute function public.record_stream_change()`.execute(db);
  return {
    async changes() {
      const { rows } = await sql<StreamChange>`select kind, "from", "to" from public.stream_changes
        order by seq`.execute(db);
      return rows;
    },
  };
}

/** The cursor's moves, in order: each one a batch that committed. */
export function cursorMoves(changes: readonly StreamChange[]): string[] {
  return changes.filter((c) => c.kind === 'cursor').map((c) => `${c.from ?? 'start'} -> ${c.to}`);
}

/** What `sync_state.last_poll_error` was set to, in order (null: a poll that succeeded cleared it). */
export function pollErrors(changes: readonly StreamChange[]): (string | null)[] {
  return changes.filter((c) => c.kind === 'error').map((c) => c.to);
}

/**
 * Every event the emulator served is recorded, once, in order, and the mirror equals what one
 * uninterrupted backfill of the same WorkOS gives, on a database of its own. (Not the outcomes: a
 * backfill starts from a listing of today's WorkOS, so it finds stale what a live worker applied.)
 */
export async function expectSameAsCleanBackfill(
  d: TestDatabase,
  emulatorUrl: string,
  eventIds: readonly string[],
): Promise<void> {
  const recorded = await d.db.selectFrom('events').select('id').orderBy('seq').execute();
  expect(recorded.map((r) => r.id)).toEqual(eventIds);
  const clean = await createTestDatabase({ migrate: false });
  try {
    const sync = createWorkosSync({
      apiKey: API_KEY,
      apiUrl: emulatorUrl,
      database: { url: clean.url },
      logger: pino({ level: 'silent' }),
    });
    try {
      await sync.migrate();
      await sync.backfill();
    } finally {
      await sync.close();
    }
    const [got, want] = [liveView(await mirrorOf(d.db)), liveView(await mirrorOf(clean.db))];
    expect(got).toEqual(want);
  } finally {
    await clean.close();
  }
}

/** The outcome of each of these events, as recorded. */
export async function outcomesOf(d: TestDatabase, ids: readonly string[]): Promise<string[]> {
  const rows = await d.db.selectFrom('events').select(['id', 'outcome']).where('id', 'in', ids).execute();
  const byId = new Map(rows.map((r) => [r.id, r.outcome]));
  return ids.map((id) => byId.get(id) ?? 'missing');
}

/**
 * A certificate learned from a listing for a connection deleted since is kept by one run and never
 * seen by the other (which listed later); what users see covers live connections only.
 */
function liveView(mirror: MirrorContents): MirrorContents {
  const deleted = new Set(mirror.connections.filter((c) => c.deleted).map((c) => c.id));
  return { ...mirror, certificates: mirror.certificates.filter((c) => !deleted.has(c.connection_id)) };
}

/** A worker's stderr as its JSON log lines. */
export function logLines(text: string): Record<string, unknown>[] {
  return text
    .split('\n')
    .filter((line) => line.startsWith('{'))
    .map((line) => JSON.parse(line) as Record<string, unknown>);
}
