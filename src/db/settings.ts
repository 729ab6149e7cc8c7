/**
 * What the database layer needs to open the mirror's database: the configuration builds it
 * (config/load.ts), and nothing here knows where the values came from.
 */
import type { Kysely } from 'kysely';
import type pg from 'pg';
import type { SessionLimits } from './session-limits.ts';
import type { PostgresTls } from './tls.ts';

/** Where the mirror lives: a Postgres server (by URL, or the application's pool or Kysely), or embedded. */
export type DatabaseTarget =
  | { readonly kind: 'url'; readonly url: string; readonly tls: PostgresTls }
  | { readonly kind: 'pool'; readonly pool: pg.Pool }
  // biome-ignore lint/suspicious/noExplicitAny: the application's own Kysely, over its own tables.
  | { readonly kind: 'kysely'; readonly kysely: Kysely<any> }
  | { readonly kind: 'embedded'; readonly dataDir: string };

export interface DatabaseSettings {
  readonly target: DatabaseTarget;
  readonly schema: string;
  /** Bounds on our transactions on a Postgres server, derived from the lease period. */
  readonly sessionLimits: SessionLimits;
  /** Connections in the pool opened from a URL (one pool per process). */
  readonly poolSize?: number | undefined;
}
