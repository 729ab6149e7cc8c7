/**
 * Real Postgres roles for the least-privilege tests: the SQL `workos-sync grants --print-sql`
 * prints, applied as the superuser; login roles granted its group roles, each with a URL; a
 * statement run as one of them, and the SQLSTATE it fails with.
 */
import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { expect } from 'vitest';
import { runCli } from './cli.ts';

export const PASSWORD = 'pw_grants_test_7d2e';

/**
 * The warning and error lines of a command's log (pino JSON on stderr): a privilege missing where
 * the worker fails open (the request budget's local bucket) shows only there.
 */
export function warningsIn(stderr: string): string[] {
  return stderr.split('\n').filter((line) => /"level":(40|50|60)\b/.test(line));
}

/** The SQL the command prints for these flags, run as the superuser on the database at `adminUrl`. */
export async function applyGrants(adminUrl: string, flags: readonly string[] = []): Promise<string> {
  const printed = await runCli(['grants', '--print-sql', ...flags], {});
  expect(printed.stderr).toBe('');
  expect(printed.code).toBe(0);
  await query(adminUrl, printed.stdout);
  return printed.stdout;
}

/** `url` with another user and password: how each role's DATABASE_URL is written. */
export function urlAs(url: string, role: string): string {
  const as = new URL(url);
  as.username = role;
  as.password = PASSWORD;
  return as.toString();
}

/** A new login role granted `group`: its name (random, as roles are the whole server's) and URL. */
export async function createLogin(
  adminUrl: string,
  prefix: string,
  group: string,
): Promise<{ name: string; url: string }> {
  const name = `${prefix}_${randomBytes(3).toString('hex')}`;
  await query(adminUrl, `create role ${name} login password '${PASSWORD}' in role ${group}`);
  return { name, url: urlAs(adminUrl, name) };
}

export async function query<R extends pg.QueryResultRow = pg.QueryResultRow>(
  url: string,
  text: string,
  values: readonly unknown[] = [],
): Promise<R[]> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    const result = await client.query<R>(text, values as unknown[]);
    // A script of several statements answers with one result each: the last one's rows.
    return Array.isArray(result) ? ((result.at(-1) as pg.QueryResult<R>)?.rows ?? []) : result.rows;
  } finally {
    await client.end();
  }
}

/** The SQLSTATE `text` fails with as the role of `url`, inside a transaction rolled back; null when it succeeds. */
export async function sqlstateOf(url: string, text: string): Promise<string | null> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    await client.query('begin');
    await client.query(text);
    return null;
  } catch (error) {
    return String((error as { code?: unknown }).code);
  } finally {
    await client.query('rollback').catch(() => undefined);
    await client.end();
  }
}

/** Every privilege of the schema, its objects and its default privileges, as the catalog holds them. */
export async function privilegesOf(adminUrl: string, schema: string): Promise<unknown[]> {
  return query(
    adminUrl,
    `select 'schema' as kind, nspname as name, pg_get_userbyid(nspowner) as owner, nspacl::text as acl
       from pg_namespace where nspname = $1
     union all
     select c.relkind::text, c.relname, pg_get_userbyid(c.relowner), c.relacl::text
       from pg_class c join pg_namespace n on n.oid = c.relnamespace
      where n.nspname = $1 and c.relkind in ('r', 'v', 'm', 'S')
     union all
     select 'default ' || d.defaclobjtype::text, pg_get_userbyid(d.defaclrole), null, d.defaclacl::text
       from pg_default_acl d join pg_namespace n on n.oid = d.defaclnamespace
      where n.nspname = $1
     order by 1, 2`,
    [schema],
  );
}

/**
 * Drops what the roles own in each database, then the roles (they belong to the whole server,
 * which may outlive this run: TEST_DATABASE_URL).
 */
export async function dropRoles(adminUrls: readonly string[], roles: readonly string[]): Promise<void> {
  const list = roles.join(', ');
  for (const url of adminUrls) await query(url, `drop owned by ${list} cascade`).catch(() => undefined);
  for (const role of roles) await query(adminUrls[0]!, `drop role if exists ${role}`).catch(() => undefined);
}
