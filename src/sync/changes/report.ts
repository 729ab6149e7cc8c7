/**
 * The change protocol, one for every writer (a batch of events, a reconciliation), inside the
 * writer's transaction:
 * 1. with hooks registered, the rows the writer may change are read and locked (`captureRows`);
 *    the writer gets them, and may plan against their versions instead of reading them again;
 * 2. the writer writes;
 * 3. with hooks, the same rows are read again and the net changes go to each hook in turn, in the
 *    writer's order, in the same transaction (a hook that throws fails the batch);
 * 4. a NOTIFY announces what was written: delivered when the transaction commits, never when it
 *    rolls back. Its payload is small: what kind of change, how many, the cursor or the run, and
 *    the ids when there are few.
 * With no hook registered nothing is read for one: a batch costs nothing more.
 */
import { sql, type Transaction } from 'kysely';
import { environmentOf } from '../../db/environment-scope.ts';
import type { Database } from '../../db/tables.ts';
import { RetryableError } from '../../errors.ts';
import { inSpan } from '../../tracing.ts';
import { type CaptureScope, captureRows, changesBetween, type RowsCaptured } from './capture.ts';
import type { ChangeHook, MirrorChange, SourceOf } from './changes.ts';

export interface ChangeReporting {
  /** The hooks registered now: read at every batch, so one added later takes part from the next. */
  readonly hooks: () => readonly ChangeHook[];
  /** Where changes are announced (`<schema>_changes`); null for nowhere. */
  readonly channel: string | null;
}

/** What a writer tells the protocol once it has written. */
export interface Written<T> {
  readonly result: T;
  /** What wrote each changed row. */
  readonly sourceOf: SourceOf;
  /** The hooks' order of the changes (default: organizations, domains, connections, certificates). */
  readonly order?: ((changes: MirrorChange[]) => MirrorChange[]) | undefined;
  readonly notice: ChangeNotice;
}

export async function reportingChanges<T>(
  trx: Transaction<Database>,
  reporting: ChangeReporting | undefined,
  scopeOf: () => CaptureScope,
  write: (before: RowsCaptured | null) => Promise<Written<T>>,
): Promise<T> {
  const hooks = reporting?.hooks() ?? [];
  // With no hook, nothing is read for one, nor is what to read worked out.
  const scope = hooks.length > 0 ? scopeOf() : null;
  const before = scope ? await captureRows(trx, scope) : null;
  const written = await write(before);
  if (before && scope) {
    const environment = environmentOf(trx);
    const changes = changesBetween(before, await captureRows(trx, scope), written.sourceOf).map(
      (change) => ({ ...change, environment }) as MirrorChange,
    );
    await runHooks(trx, hooks, written.order ? written.order(changes) : changes);
  }
  await notifyChanges(trx, reporting?.channel ?? null, written.notice);
  return written.result;
}

/** Each hook in turn, in the batch's transaction. One that throws fails the batch: a transient failure of its own kind. */
async function runHooks(
  trx: Transaction<Database>,
  hooks: readonly ChangeHook[],
  changes: readonly MirrorChange[],
): Promise<void> {
  if (changes.length === 0) return;
  for (const [index, hook] of hooks.entries()) {
    try {
      await inSpan(
        'workos_sync.hook',
        {
          'workos_sync.environment': environmentOf(trx),
          'workos_sync.hook.index': index,
          'workos_sync.changes': changes.length,
        },
        () => Promise.resolve(hook(trx, changes)),
      );
    } catch (error) {
      const message = error instanceof Error ? error.message : String(error);
      throw new RetryableError(`an onChange hook failed: ${message}`, 'hook', { cause: error });
    }
  }
}

export interface ChangeNotice {
  readonly source: 'events' | 'reconciliation';
  /** The cursor once the batch commits (events), or the reconciliation's run. */
  readonly cursor?: string | undefined;
  readonly runId?: string | undefined;
  /** Applied events by type, or reconciliation writes by kind. */
  readonly counts: Readonly<Record<string, number>>;
  /** The connections written. */
  readonly connectionIds: readonly string[];
  /** The organizations whose row or domains were written. */
  readonly organizationIds?: readonly string[] | undefined;
}

/** Ids in a notice at most; past that only the counts (a NOTIFY payload must stay under 8000 bytes). */
const IDS_IN_A_NOTICE = 50;

async function notifyChanges(
  trx: Transaction<Database>,
  channel: string | null,
  notice: ChangeNotice,
): Promise<void> {
  if (channel === null || Object.keys(notice.counts).length === 0) return;
  const { connectionIds, organizationIds = [], ...rest } = notice;
  const payload = JSON.stringify({
    environment: environmentOf(trx),
    ...rest,
    connections: connectionIds.length,
    ...(connectionIds.length <= IDS_IN_A_NOTICE ? { connectionIds } : {}),
    ...(organizationIds.length > 0 ? { organizations: organizationIds.length } : {}),
    ...(organizationIds.length > 0 && organizationIds.length <= IDS_IN_A_NOTICE ? { organizationIds } : {}),
  });
  await sql`select pg_notify(${channel}, ${payload})`.execute(trx);
}

/** The channel a schema's changes are announced on. */
export function changesChannel(schema: string): string {
  return `${schema}_changes`;
}
