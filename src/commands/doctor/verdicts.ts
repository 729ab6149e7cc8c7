/**
 * What `doctor` concludes from what it measured: pure functions from a measurement to a check's
 * status, message and fix, so each threshold is stated once, with its reason, and tested by
 * table (test/doctor-verdicts.test.ts). A `fail` is what stops a deployment from working (or
 * makes it work wrongly); a `warn` is worth knowing and fixing, but the worker copes with it.
 */

export type CheckStatus = 'ok' | 'warn' | 'fail' | 'skip';

export interface Verdict {
  readonly status: CheckStatus;
  readonly message: string;
  /** How to fix it; none for `ok`. */
  readonly fix?: string | undefined;
}

const ok = (message: string): Verdict => ({ status: 'ok', message });
const warn = (message: string, fix: string): Verdict => ({ status: 'warn', message, fix });
const fail = (message: string, fix: string): Verdict => ({ status: 'fail', message, fix });

/** WorkOS's `Date` has whole seconds and the request takes a round trip: below this is no skew. */
export const CLOCK_EXACT_MS = 5_000;
/**
 * The WorkOS SDK's tolerance when it verifies a webhook signature (180 s), less a margin: a host
 * this far off refuses every delivery as signed too long ago. Versions never read a local clock
 * (they are WorkOS's), but lag, ages and certificate windows are computed in this clock too.
 */
export const CLOCK_FAIL_MS = 120_000;

export function clockVerdict(what: 'host' | 'database', offsetMs: number): Verdict {
  const off = Math.abs(offsetMs);
  const side = offsetMs > 0 ? 'ahead of' : 'behind';
  const seconds = `${(off / 1000).toFixed(1)} s ${side} WorkOS's`;
  const subject = what === 'host' ? "this host's clock" : "the database's clock";
  if (off <= CLOCK_EXACT_MS) return ok(`${subject} is within ${CLOCK_EXACT_MS / 1000} s of WorkOS's`);
  const fix =
    what === 'host'
      ? 'synchronise this host with NTP (chrony, systemd-timesyncd)'
      : "synchronise the database server's clock with NTP";
  return off > CLOCK_FAIL_MS
    ? fail(
        `${subject} is ${seconds}: webhook signatures fail the SDK's 180 s tolerance, and lag and certificate windows are off by as much`,
        fix,
      )
    : warn(`${subject} is ${seconds}: lag, ages and certificate windows are off by as much`, fix);
}

/** WorkOS's shorter documented retention: a cursor older than it may be refused at any time. */
export const CURSOR_WARN_DAYS = 30;

export type CursorProbe = 'served' | 'refused';

/** `ageDays`: since the cursor's event was created (WorkOS's time). */
export function cursorVerdict(
  cursor: { readonly id: string; readonly ageDays: number | null } | null,
  probe: CursorProbe,
): Verdict {
  if (cursor === null) return ok('no cursor yet: the first backfill or poll starts the stream');
  const age = cursor.ageDays === null ? '' : `, its event ${cursor.ageDays.toFixed(1)} days old`;
  if (probe === 'refused')
    return fail(
      `WorkOS refuses the cursor ${cursor.id}${age}: it expired past WorkOS's retention, or the API key is of another WorkOS environment than the one this mirror holds`,
      'an expired cursor is recovered by the next poll (a reconciliation, then the stream from its oldest retained event); a key of another environment would reconcile that environment over this mirror: mirror it into a schema of its own (WORKOS_SYNC_SCHEMA) or an environments file',
    );
  if (cursor.ageDays !== null && cursor.ageDays > CURSOR_WARN_DAYS)
    return warn(
      `the cursor ${cursor.id}${age}, is past WorkOS's shorter documented retention (${CURSOR_WARN_DAYS} days); still served today`,
      'nothing to do if the stream is just quiet: if WorkOS refuses it later, the next poll recovers (a reconciliation, then the stream again)',
    );
  return ok(`cursor ${cursor.id}${age}, still served by WorkOS`);
}

/**
 * What kind of environment an API key is of: WorkOS's keys say so in their prefix. An environment
 * named like production with a test key (or the other way round) is likely a key pasted into the
 * wrong place.
 */
export function keyVerdict(apiKey: string, environment: string): Verdict {
  const kind = apiKey.startsWith('sk_live_') ? 'production' : apiKey.startsWith('sk_test_') ? 'test' : null;
  if (kind === null)
    return apiKey.startsWith('sk_')
      ? ok('WorkOS accepted the key (its prefix does not say which kind of environment it is of)')
      : warn(
          'WorkOS accepted the key, but it does not look like a WorkOS secret key (those start sk_)',
          'use the secret API key of the environment, from the WorkOS dashboard (API Keys)',
        );
  const prefix = kind === 'production' ? 'sk_live_' : 'sk_test_';
  const named = /prod/i.test(environment)
    ? 'production'
    : /stag|test|dev|sandbox/i.test(environment)
      ? 'test'
      : null;
  if (named !== null && named !== kind)
    return warn(
      `WorkOS accepted the key: a ${prefix}… key, of a ${kind} environment, for the environment named "${environment}"`,
      `check that this is the key of the WorkOS environment "${environment}" is meant to mirror`,
    );
  return ok(`WorkOS accepted the key: ${prefix}…, a ${kind} environment`);
}

export function noKeyVerdict(): Verdict {
  return fail(
    'no API key (WORKOS_API_KEY, or the variable the environments file names)',
    "set it to the environment's secret API key, from the WorkOS dashboard (API Keys)",
  );
}

/** WorkOS refused the key, or did not answer at all. */
export function unansweredVerdict(error: Error & { readonly kind?: unknown }, apiUrl: string): Verdict {
  return fail(
    error.message,
    error.kind === 'unauthorized'
      ? "set the environment's secret API key, from the WorkOS dashboard (API Keys)"
      : `check WORKOS_API_URL (${apiUrl}) and that this host reaches it`,
  );
}

/**
 * A webhook secret as pasted: surrounding quotes or inner whitespace are copy mistakes no
 * signature will ever match (every delivery would be refused as a bad signature).
 */
export function webhookSecretVerdict(secret: string | undefined): Verdict {
  if (secret === undefined) return ok('webhooks off (no secret): changes are seen at the poll schedule');
  if (/^["'`]|["'`]$/.test(secret))
    return fail(
      'the webhook secret starts or ends with a quote: every delivery would fail its signature',
      'set the secret without the quotes around it',
    );
  if (/\s/.test(secret))
    return fail(
      'the webhook secret contains whitespace: every delivery would fail its signature',
      "copy the endpoint's secret again from the WorkOS dashboard (Webhooks)",
    );
  if (secret.length < 16)
    return warn(
      `the webhook secret is ${secret.length} characters: shorter than any WorkOS generates`,
      "copy the endpoint's secret again from the WorkOS dashboard (Webhooks)",
    );
  return ok('webhook secret set and well-formed');
}

export interface CertificateCounts {
  readonly expired: number;
  readonly within30Days: number;
}

/** Facts about customers' connections, not about the deployment: a warning at most. */
export function certificatesVerdict(counts: CertificateCounts): Verdict {
  if (counts.expired === 0 && counts.within30Days === 0)
    return ok('no SAML certificate of a live connection expires within 30 days');
  return warn(
    `${counts.expired} SAML certificates expired, ${counts.within30Days} expire within 30 days`,
    'see `workos-sync certs --expiring-within 30d`: the organizations must upload new ones',
  );
}

/** What the database role may do with the mirror's schema (probes.ts). */
export interface Privileges {
  readonly role: string;
  readonly schema: string;
  readonly schemaExists: boolean;
  /** CREATE on the database: whether the role may create the schema itself. */
  readonly createSchema: boolean;
  readonly usage: boolean;
  /** CREATE on the schema: DDL, what migrating needs. */
  readonly create: boolean;
  readonly tables: number;
  /** Tables (and sequences) the role may not use as the worker does: it writes them all but `schema_migrations`. */
  readonly lacking: readonly string[];
}

const GRANTS =
  'grant the writer role its rights: `workos-sync grants --print-sql` (README, "Roles and privileges")';

export function privilegesVerdict(p: Privileges, pending: readonly string[]): Verdict {
  if (!p.schemaExists)
    return p.createSchema
      ? ok(`schema ${p.schema} does not exist yet: role ${p.role} may create it (the first migrate does)`)
      : fail(
          `schema ${p.schema} does not exist, and role ${p.role} may not create it`,
          'run `workos-sync migrate` once as the owner role (README, "Roles and privileges")',
        );
  if (!p.usage) return fail(`role ${p.role} has no USAGE on schema ${p.schema}`, GRANTS);
  if (p.lacking.length > 0) {
    const some = p.lacking.slice(0, 3).join(', ') + (p.lacking.length > 3 ? `, … (${p.lacking.length})` : '');
    return fail(
      `role ${p.role} may not read and write ${some} in ${p.schema}: the worker writes every table`,
      GRANTS,
    );
  }
  if (pending.length > 0 && !p.create)
    return fail(
      `${pending.length} migrations are pending, and role ${p.role} may not create in ${p.schema}`,
      'run `workos-sync migrate` as the owner role, then start the workers',
    );
  return ok(
    p.create
      ? `role ${p.role} may migrate ${p.schema} and read and write its ${p.tables} tables`
      : `role ${p.role} reads and writes ${p.schema}'s ${p.tables} tables, no DDL (a writer)`,
  );
}

export function migrationsVerdict(m: {
  readonly schemaExists: boolean;
  readonly applied: number;
  readonly pending: readonly string[];
  readonly awaitingFinalize: readonly string[];
}): Verdict {
  if (!m.schemaExists)
    return warn(
      'nothing migrated yet (a new database)',
      '`workos-sync migrate`, as the owner role (every command migrates on start unless --no-migrate)',
    );
  if (m.pending.length > 0)
    return warn(
      `${m.pending.length} migrations pending: ${m.pending.join(', ')}`,
      '`workos-sync migrate` as the owner role (a rolling upgrade runs them while the previous release still runs)',
    );
  if (m.awaitingFinalize.length > 0)
    return warn(
      `${m.applied} migrations applied; ${m.awaitingFinalize.join(', ')} awaits \`migrate --finalize\``,
      'run `workos-sync migrate --finalize` once every replica runs this release',
    );
  return ok(`all ${m.applied} migrations applied`);
}
