/**
 * A transaction whose commit is a database client span (`COMMIT`, by the stable semantic
 * conventions), a child of the span the transaction runs in. Of a batch's statements the commit
 * is the one worth a span of its own: it is when the batch becomes true for everyone, and where a
 * busy instance makes a writer wait (the commit-time lock a NOTIFY takes, a synchronous replica).
 * The statements before it are the batch's span, not one span each.
 */
import { SpanKind } from '@opentelemetry/api';
import type { Kysely, Transaction } from 'kysely';
import { failed, type SpanOptions, startSpan } from '../tracing.ts';
import { environmentOrNull } from './environment-scope.ts';
import type { Database } from './tables.ts';

const COMMIT: SpanOptions = { kind: SpanKind.CLIENT };

export async function tracedTransaction<T>(
  db: Kysely<Database>,
  work: (trx: Transaction<Database>) => Promise<T>,
): Promise<T> {
  const environment = environmentOrNull(db);
  let commit: ReturnType<typeof startSpan> | undefined;
  try {
    const result = await db.transaction().execute(async (trx) => {
      const value = await work(trx);
      // Kysely commits as soon as this returns: the span starts here and ends once it has.
      commit = startSpan(
        'COMMIT',
        {
          'db.system.name': 'postgresql',
          'db.operation.name': 'COMMIT',
          ...(environment === null ? {} : { 'workos_sync.environment': environment }),
        },
        COMMIT,
      );
      return value;
    });
    commit?.end();
    return result;
  } catch (error) {
    if (commit) {
      const code = (error as { code?: unknown }).code;
      if (typeof code === 'string') commit.setAttribute('db.response.status_code', code);
      failed(commit, error);
      commit.end();
    }
    throw error;
  }
}
