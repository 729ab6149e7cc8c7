/**
 * The library's options (`createWorkosSync`): the settings' rows as values, `group.key` rows
 * inside their group (`http: { host, port }`), and how the options become the values the parsers
 * are handed.
 */
import type { Kysely } from 'kysely';
import type pg from 'pg';
import { type GroupOptions, SETTINGS, type SettingName, type TopLevelOptions } from './settings.ts';

/** Every setting of the command line, as values. */
export interface WorkosSyncSettings extends TopLevelOptions {
  /**
   * Where the mirror lives: `{ url }`, the application's `{ pool }` (a `pg.Pool`) or `{ kysely }`
   * (any Kysely over Postgres; the mirror keeps to its own schema), or the embedded database
   * under `{ dataDir }` (the default: `.workos-sync`). With a URL, `sslCa` is the path of a CA
   * file (PEM) to trust for TLS to the server, read once here; the URL's `sslmode` says libpq's
   * way whether and how the server is verified (docs/operations.md, "TLS to Postgres").
   */
  readonly database?:
    | Pick<GroupOptions<'database', 'url'>, 'url' | 'sslCa'>
    | { readonly pool: pg.Pool }
    // biome-ignore lint/suspicious/noExplicitAny: the application's own Kysely, over its own tables.
    | { readonly kysely: Kysely<any> }
    | Pick<GroupOptions<'database', 'dataDir'>, 'dataDir'>
    | undefined;
  /** `start()`'s health and metrics server; `false` (or port 0) for none. Default 127.0.0.1:9464. */
  readonly http?: GroupOptions<'http'> | false | undefined;
  /**
   * `start()`'s webhook receiver: with a `secret`, `POST /webhooks/workos` on its own listener
   * (default 0.0.0.0:9465) makes the worker poll now. A nudge, never a source of writes.
   */
  readonly webhooks?: GroupOptions<'webhooks', 'secret'> | undefined;
  /**
   * The event log's bound: `retentionDays` (default 400; `'forever'`, or at least 120) and whether
   * quarantined events past it are pruned too (`pruneQuarantined`, default false).
   */
  readonly events?: GroupOptions<'events'> | undefined;
}

/** What was given for each setting: the environment's text, or whatever value the library was passed. */
export type Given = Partial<Record<SettingName, unknown>>;

export function givenOptions(options: WorkosSyncSettings): Given {
  // Read by the rows' option paths; an untyped caller's odd values reach the parsers as they are.
  const byKey = options as Readonly<Record<string, unknown>>;
  const given: Given = {};
  for (const setting of SETTINGS) {
    if (setting.option === null) continue; // the command line's alone
    const [group, key] = setting.option.split('.') as [string, string | undefined];
    const value = byKey[group];
    given[setting.name] =
      key === undefined ? value : (value as Readonly<Record<string, unknown>> | undefined)?.[key];
  }
  // `http: false` is no server, which the port says among the settings: 0 (as WORKOS_SYNC_HTTP_PORT=0).
  if (options.http === false) given.WORKOS_SYNC_HTTP_PORT = 0;
  return given;
}
