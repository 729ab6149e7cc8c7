/**
 * Every setting there is, one row each: its environment variable, its library option, its
 * default, its parser and its description. The types of the settings (`SettingName`, the
 * library's options, the parsed values) follow from the rows, and so do `.env.example` and the
 * README's configuration table (`npm run docs:settings` writes both; test/settings-docs.test.ts
 * holds them to the rows).
 */

import { DEFAULT_EVENTS_RETENTION_DAYS, EVENTS_RETENTION_FLOOR_DAYS } from '../sync/events/retention.ts';
import {
  basicAuth,
  cronExpression,
  DEFAULT_REQUESTS_PER_MINUTE,
  databaseUrl,
  httpUrl,
  identifier,
  LOG_LEVELS,
  logLevel,
  onOff,
  type Parser,
  poolSize,
  port,
  requestsPerMinute,
  retentionDays,
  seconds,
  text,
  webhookSecret,
} from './parsers.ts';

export interface Setting<
  Name extends string = string,
  Option extends string | null = string | null,
  In = unknown,
  Out = unknown,
  Default extends In | undefined = In | undefined,
> {
  /** The environment variable: the name in the command line's errors. */
  readonly name: Name;
  /**
   * The library option (`createWorkosSync`), `group.key` inside a group (`http.port` is
   * `http: { port }`): the name in the library's errors. Null for a setting of the command line
   * alone (the library takes no such option).
   */
  readonly option: Option;
  readonly parse: Parser<In, Out>;
  /** The value when the setting is unset (or empty), parsed as a given one is; undefined for none. */
  readonly default: Default;
  /**
   * What the README shows as the default of a setting without one: `—` when some commands need
   * it, `unset` when leaving it unset means something.
   */
  readonly unset?: '—' | 'unset';
  /** The README's meaning (Markdown, one line); `.env.example` says the same with links as plain text. */
  readonly description: string;
}

/** One row, its types inferred: the default has the type of the parser's library value. */
function setting<
  const Name extends string,
  const Option extends string | null,
  In,
  Out,
  const Default extends In | undefined,
>(row: Setting<Name, Option, In, Out, Default>): Setting<Name, Option, In, Out, Default> {
  return row;
}

const code = (text: string) => `\`${text}\``;

/** In the order `.env.example` and the README list them. */
export const SETTINGS = [
  setting({
    name: 'WORKOS_API_KEY',
    option: 'apiKey',
    parse: text,
    default: undefined,
    unset: '—',
    description: 'required for everything that calls WorkOS',
  }),
  setting({
    name: 'WORKOS_SYNC_ENVIRONMENTS_FILE',
    option: null,
    parse: text,
    default: undefined,
    unset: 'unset',
    description:
      'a YAML file declaring several WorkOS environments, each with the name of the variable holding its API key ([the environments file](docs/environments.md)); unset, `WORKOS_API_KEY` and the settings here are one environment named `default`. Command line only (`--environments-file`)',
  }),
  setting({
    name: 'WORKOS_API_URL',
    option: 'apiUrl',
    parse: httpUrl,
    default: 'https://api.workos.com',
    description: 'base URL of the WorkOS API; point it at `workos-sync emulator` in development',
  }),
  setting({
    name: 'DATABASE_URL',
    option: 'database.url',
    parse: databaseUrl,
    default: undefined,
    unset: 'unset',
    description:
      'Postgres connection string; unset means the embedded database below. Its `sslmode` means what it means to libpq: `disable`, `prefer` (the default), `require`, `verify-ca`, `verify-full` ([TLS to Postgres](docs/operations.md#tls-to-postgres))',
  }),
  setting({
    name: 'WORKOS_SYNC_PG_SSL_CA',
    option: 'database.sslCa',
    parse: text,
    default: undefined,
    unset: 'unset',
    description:
      "a CA certificate file (PEM) to trust for TLS to Postgres instead of Node's built-in roots (a private CA, a cloud provider's bundle), read once at start",
  }),
  setting({
    name: 'WORKOS_SYNC_DATA_DIR',
    option: 'database.dataDir',
    parse: text,
    default: '.workos-sync',
    description: 'where the embedded database (PGlite) lives',
  }),
  setting({
    name: 'WORKOS_SYNC_SCHEMA',
    option: 'schema',
    parse: identifier,
    default: 'workos',
    description: 'Postgres schema of every table and view (a plain lower-case identifier)',
  }),
  setting({
    name: 'WORKOS_SYNC_POLL_CRON',
    option: 'pollCron',
    parse: cronExpression,
    default: '*/5 * * * * *',
    description: "schedule of event polls, in node-cron's syntax (a seconds field is allowed)",
  }),
  setting({
    name: 'WORKOS_SYNC_RECONCILE_CRON',
    option: 'reconcileCron',
    parse: cronExpression,
    default: '17 * * * *',
    description: "schedule of reconciliations, in node-cron's syntax",
  }),
  setting({
    name: 'WORKOS_SYNC_HTTP_HOST',
    option: 'http.host',
    parse: text,
    default: '127.0.0.1',
    description: 'health and metrics server address',
  }),
  setting({
    name: 'WORKOS_SYNC_HTTP_PORT',
    option: 'http.port',
    parse: port,
    default: 9464,
    description: 'health and metrics server port (`0` disables the server, as `http: false` does)',
  }),
  setting({
    name: 'WORKOS_SYNC_HTTP_BASIC_AUTH',
    option: 'http.basicAuth',
    parse: basicAuth,
    default: undefined,
    unset: '—',
    description:
      '`user:password`: `/metrics` asks for them (HTTP basic auth), for a server bound beyond loopback; `/healthz` and `/readyz` stay open for probes',
  }),
  setting({
    name: 'WORKOS_WEBHOOK_SECRET',
    option: 'webhooks.secret',
    parse: webhookSecret,
    default: undefined,
    unset: '—',
    description:
      "the WorkOS webhook endpoint's signing secret: set, `run` serves the [webhook receiver](docs/operations.md#webhooks-a-nudge-to-poll-now), a nudge to poll now",
  }),
  setting({
    name: 'WORKOS_SYNC_WEBHOOK_HOST',
    option: 'webhooks.host',
    parse: text,
    default: '0.0.0.0',
    description: 'webhook receiver address (WorkOS must reach it, unlike the health server)',
  }),
  setting({
    name: 'WORKOS_SYNC_WEBHOOK_PORT',
    option: 'webhooks.port',
    parse: port,
    default: 9465,
    description: 'webhook receiver port',
  }),
  setting({
    name: 'WORKOS_SYNC_WEBHOOK_LOOK_SECONDS',
    option: 'webhooks.lookSeconds',
    parse: seconds,
    default: 30,
    description:
      'how long to keep polling for an event a webhook named that the Events API does not list yet',
  }),
  setting({
    name: 'WORKOS_SYNC_POOL_SIZE',
    option: 'poolSize',
    parse: poolSize,
    default: 4,
    description:
      "connections in the pool the mirror opens from `DATABASE_URL` (not an application's own pool): one pool per process, whatever the number of environments; 10 serves 1,000 environments on one replica ([the fleet](docs/fleet.md))",
  }),
  setting({
    name: 'WORKOS_SYNC_LEASE_SECONDS',
    option: 'leaseSeconds',
    parse: seconds,
    default: 30,
    description: "how long a replica's lease lives unrenewed: the takeover time when the holder dies",
  }),
  setting({
    name: 'WORKOS_SYNC_IDLE_POLL_MAX_SECONDS',
    option: 'idlePollMaxSeconds',
    parse: seconds,
    default: undefined,
    unset: 'unset',
    description:
      "with an environments file, the longest an idle environment goes between polls: its polls back off up to this while they find nothing, and a change no webhook announces is seen within it. Unset: 30, or `WORKOS_SYNC_LEASE_SECONDS` when shorter; at most the poll schedule's period: no backoff ([the fleet](docs/fleet.md#idle-polls-back-off))",
  }),
  setting({
    name: 'WORKOS_SYNC_REQUEST_TIMEOUT_SECONDS',
    option: 'requestTimeoutSeconds',
    parse: seconds,
    default: 30,
    description: 'deadline of one WorkOS request (a hung request is then retried)',
  }),
  setting({
    name: 'WORKOS_SYNC_REQUESTS_PER_MINUTE',
    option: 'requestsPerMinute',
    parse: requestsPerMinute,
    default: DEFAULT_REQUESTS_PER_MINUTE,
    description:
      'WorkOS requests a minute for the whole fleet, every replica and environment together: one budget kept in Postgres, which a 429 pauses for its `Retry-After`. WorkOS allows about 6,000 per client IP; give every replica the same value; `0` is the default ([the request budget](docs/request-budget.md))',
  }),
  setting({
    name: 'WORKOS_SYNC_NOTIFY',
    option: 'notify',
    parse: onOff,
    default: 'on',
    description:
      '`on`: every batch of events and every reconciliation that changed the mirror sends one `NOTIFY <schema>_changes` as it commits; `off`: none (the hooks still run). A committing transaction that has sent a NOTIFY holds a lock every other such commit in the Postgres instance waits for: turn it off on a busy shared database when nothing LISTENs ([NOTIFY and what it costs](#notify-and-what-it-costs))',
  }),
  setting({
    name: 'WORKOS_SYNC_EVENTS_RETENTION_DAYS',
    option: 'events.retentionDays',
    parse: retentionDays(EVENTS_RETENTION_FLOOR_DAYS),
    default: DEFAULT_EVENTS_RETENTION_DAYS,
    description: `days the event log (\`events\`) keeps an event, or \`forever\`: at least ${EVENTS_RETENTION_FLOOR_DAYS} (WorkOS's retention and a margin); the worker prunes older ones after each reconciliation tick, keeping quarantined ones and those the cursor or a mirror row points at ([a bounded event log](#a-bounded-event-log))`,
  }),
  setting({
    name: 'WORKOS_SYNC_PRUNE_QUARANTINED',
    option: 'events.pruneQuarantined',
    parse: onOff,
    default: 'off',
    description:
      '`on`: quarantined events past the retention are pruned too; `off`: they stay until deleted by hand',
  }),
  setting({
    name: 'LOG_LEVEL',
    option: 'logLevel',
    parse: logLevel,
    default: 'info',
    description: `log level (pino's): ${LOG_LEVELS.map(code).join(', ')}`,
  }),
] as const;

type Row = (typeof SETTINGS)[number];
export type SettingName = Row['name'];
export type SettingOf<Name extends SettingName> = Extract<Row, { readonly name: Name }>;

/** What the library takes for a setting: its parser's value (a string works too, as text). */
export type SettingInput<R extends Row> = Parameters<R['parse']['value']>[0];

/** A setting's value once parsed: undefined only for a setting without a default, left unset. */
export type SettingValue<Name extends SettingName> =
  | ReturnType<SettingOf<Name>['parse']['text']>
  | (SettingOf<Name>['default'] extends undefined ? undefined : never);

/** Every setting's value, parsed. */
export type ParsedSettings = { readonly [Name in SettingName]: SettingValue<Name> };

type KeyIn<R extends Row, Group extends string> = R['option'] extends `${Group}.${infer Key}` ? Key : never;

/**
 * The options of the library's group `Group` (`http` for the rows `http.host`, `http.port`), those
 * named in `Needed` required: one object type, as editors show it.
 */
export type GroupOptions<Group extends string, Needed extends string = never> = {
  readonly [R in Row as KeyIn<R, Group> extends Needed ? KeyIn<R, Group> : never]-?: SettingInput<R>;
} & {
  readonly [R in Row as KeyIn<R, Group> extends Needed ? never : KeyIn<R, Group>]?:
    | SettingInput<R>
    | undefined;
} extends infer Both
  ? { [Key in keyof Both]: Both[Key] }
  : never;

/** The library options outside any group. */
export type TopLevelOptions = {
  readonly [R in Row as R['option'] extends `${string}.${string}` | null
    ? never
    : Extract<R['option'], string>]?: SettingInput<R> | undefined;
};
