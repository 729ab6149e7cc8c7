/**
 * `grants --print-sql`: the SQL of the owner, writer and reader roles for the configured schema
 * (db/grants.ts). It only prints: roles and ownership are a DBA's to review and apply (as a
 * superuser, `| psql`), and workos-sync's own roles could not apply them anyway.
 */
import { identifier } from '../config/parsers.ts';
import { DEFAULT_ROLES, grantsSql } from '../db/grants.ts';
import { ConfigError } from '../errors.ts';

export interface GrantsOptions {
  readonly printSql: boolean;
  readonly owner?: string | undefined;
  readonly writer?: string | undefined;
  readonly reader?: string | undefined;
}

export function grantsCommand(schema: string, options: GrantsOptions): void {
  if (!options.printSql)
    throw new ConfigError(
      'grants applies nothing itself: add --print-sql, review the SQL, and run it as a superuser (workos-sync grants --print-sql | psql)',
    );
  // Held to the schema's rule: plain lower-case identifiers, the same in SQL and in DATABASE_URL.
  const role = (flag: string, value: string | undefined, fallback: string) =>
    value === undefined ? fallback : identifier.text(value, flag);
  process.stdout.write(
    grantsSql(schema, {
      owner: role('--owner', options.owner, DEFAULT_ROLES.owner),
      writer: role('--writer', options.writer, DEFAULT_ROLES.writer),
      reader: role('--reader', options.reader, DEFAULT_ROLES.reader),
    }),
  );
}
