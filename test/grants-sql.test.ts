/**
 * The roles' SQL as text (src/db/grants.ts): names quoted as identifiers and as string constants
 * wherever they go, renamed roles and other schemas followed everywhere, the three roles' shape,
 * and names it cannot print safely refused. What the SQL does on a real Postgres:
 * grants.test.ts and grants-upgrade.test.ts.
 */
import { describe, expect, it } from 'vitest';
import { DEFAULT_ROLES, grantsSql } from '../src/db/grants.ts';
import { ConfigError } from '../src/errors.ts';

/** The statements outside the DO blocks, one a line, without comments. */
function statements(sql: string): string[] {
  return sql
    .replace(/\$grants\$[\s\S]*?\$grants\$;/g, '')
    .split('\n')
    .filter((line) => line.trim() !== '' && !line.startsWith('--') && !line.startsWith('do '));
}

describe('names, quoted', () => {
  it.each([
    ['the defaults', 'workos', DEFAULT_ROLES],
    [
      'renamed roles and schema',
      'mirror',
      { owner: 'sso_owner', writer: 'sso_writer', reader: 'sso_reader' },
    ],
    ['reserved words', 'order', { owner: 'user', writer: 'select', reader: 'table' }],
    ['quotes in names', 'we"ird', { owner: "o'brien", writer: 'w"x', reader: 'r' }],
  ])('%s', (_, schema, roles) => {
    const sql = grantsSql(schema, roles);
    const id = (name: string) => `"${name.replaceAll('"', '""')}"`;
    const text = (name: string) => `'${name.replaceAll("'", "''")}'`;
    const [s, owner, writer, reader] = [id(schema), id(roles.owner), id(roles.writer), id(roles.reader)];
    expect(statements(sql)).toEqual([
      'begin;',
      `create schema if not exists ${s} authorization ${owner};`,
      `alter schema ${s} owner to ${owner};`,
      `revoke all on schema ${s} from ${writer};`,
      `grant usage on schema ${s} to ${writer};`,
      `revoke all on all tables in schema ${s} from ${writer};`,
      `grant select, insert, update, delete on all tables in schema ${s} to ${writer};`,
      `revoke all on all sequences in schema ${s} from ${writer};`,
      `grant usage, select on all sequences in schema ${s} to ${writer};`,
      `alter default privileges for role ${owner} in schema ${s} revoke all on tables from ${writer};`,
      `alter default privileges for role ${owner} in schema ${s} grant select, insert, update, delete on tables to ${writer};`,
      `alter default privileges for role ${owner} in schema ${s} revoke all on sequences from ${writer};`,
      `alter default privileges for role ${owner} in schema ${s} grant usage, select on sequences to ${writer};`,
      `revoke all on schema ${s} from ${reader};`,
      `grant usage on schema ${s} to ${reader};`,
      `revoke all on all tables in schema ${s} from ${reader};`,
      `revoke all on all sequences in schema ${s} from ${reader};`,
      `alter default privileges for role ${owner} in schema ${s} revoke all on tables from ${reader};`,
      `alter default privileges for role ${owner} in schema ${s} revoke all on sequences from ${reader};`,
      'commit;',
    ]);
    // Inside the DO blocks names are string constants, quoted by format('%I') where they are used.
    for (const role of [roles.owner, roles.writer, roles.reader]) {
      expect(sql).toContain(`if not exists (select from pg_roles where rolname = ${text(role)}) then`);
      expect(sql).toContain(`create role ${id(role)} nologin;`);
    }
    expect(sql).toContain(`where n.nspname = ${text(schema)} and c.relkind in ('v', 'm')`);
    expect(sql).toContain(
      `execute format('grant select on %I.%I to %I', ${text(schema)}, object.relname, ${text(roles.reader)});`,
    );
    expect(sql).toContain(`${text(schema)}, object.relname, ${text(roles.owner)});`);
    // Nothing is spliced unquoted: every name appears only inside quotes.
    const unquoted = sql
      .replace(/^\s*--.*$/gm, '')
      .replace(/"(?:[^"]|"")*"/g, '')
      .replace(/'(?:[^']|'')*'/g, '');
    for (const name of [schema, roles.owner, roles.writer, roles.reader].filter((n) => n.length > 6))
      expect(unquoted).not.toContain(name);
  });
});

describe('what each role gets', () => {
  const sql = grantsSql('workos');

  it('the writer: no CREATE, TRUNCATE, REFERENCES or TRIGGER, and only reads the migrations table', () => {
    const granted = statements(sql).filter((s) => s.includes(' grant ') || s.startsWith('grant '));
    expect(granted.filter((s) => s.includes('"workos_sync_writer"'))).toHaveLength(5);
    for (const s of granted) expect(s).not.toMatch(/\b(create|truncate|references|trigger|all privileges)\b/);
    expect(sql).toContain(
      `execute format('revoke insert, update, delete on %I.%I from %I',\n      'workos', 'schema_migrations', 'workos_sync_writer');`,
    );
  });

  it('the reader: USAGE on the schema and SELECT on each view, nothing else granted', () => {
    const granted = statements(sql).filter(
      (s) => s.startsWith('grant ') && s.includes('"workos_sync_reader"'),
    );
    expect(granted).toEqual(['grant usage on schema "workos" to "workos_sync_reader";']);
    expect(sql.match(/grant select on %I\.%I to %I/g)).toHaveLength(1);
  });

  it('one transaction, so a run that fails half-way leaves nothing half-granted', () => {
    const lines = statements(sql);
    expect([lines[0], lines.at(-1)]).toEqual(['begin;', 'commit;']);
  });
});

describe('names it refuses', () => {
  it.each([
    ['an empty schema', '', DEFAULT_ROLES, /schema name must be 1 to 63 bytes/],
    ['a schema of 64 bytes', 's'.repeat(64), DEFAULT_ROLES, /schema name/],
    [
      'a dollar sign (it would end a DO block)',
      'workos',
      { ...DEFAULT_ROLES, writer: 'w$grants$' },
      /writer name/,
    ],
    ['a NUL', 'workos', { ...DEFAULT_ROLES, reader: 'r\0' }, /reader name/],
    [
      'a role given twice',
      'workos',
      { ...DEFAULT_ROLES, reader: DEFAULT_ROLES.writer },
      /three different roles/,
    ],
  ])('%s', (_, schema, roles, message) => {
    expect(() => grantsSql(schema, roles)).toThrow(ConfigError);
    expect(() => grantsSql(schema, roles)).toThrow(message);
  });
});
