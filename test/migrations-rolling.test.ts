/**
 * Every migration is safe in a rolling upgrade: while it runs and after, the previous release's
 * replicas keep running on the same schema. So, from the schema before each migration to the
 * schema after it: no table, view or column the previous release reads is dropped, renamed or
 * retyped; every column added to a table that existed is nullable or has a default (the previous
 * release inserts without it); no column it may leave empty becomes NOT NULL without a default.
 * Applied one by one on a real database, as `migrateToLatest` applies them.
 */
import { sql } from 'kysely';
import { afterEach, describe, expect, it } from 'vitest';
import { migrations } from '../migrations/index.ts';
import { createTestDatabase, type TestDatabase } from './support/database.ts';

interface Column {
  readonly type: string;
  readonly nullable: boolean;
  readonly hasDefault: boolean;
}

type Schema = Map<string, Map<string, Column>>;

let t: TestDatabase | undefined;
afterEach(async () => {
  await t?.close();
  t = undefined;
});

async function schemaOf(database: TestDatabase): Promise<Schema> {
  const { rows } = await sql<{
    table_name: string;
    column_name: string;
    data_type: string;
    is_nullable: string;
    column_default: string | null;
  }>`select table_name, column_name, data_type, is_nullable, column_default
       from information_schema.columns where table_schema = ${database.schema}`.execute(database.whole);
  const schema: Schema = new Map();
  for (const row of rows) {
    const table = schema.get(row.table_name) ?? new Map<string, Column>();
    table.set(row.column_name, {
      type: row.data_type,
      nullable: row.is_nullable === 'YES',
      hasDefault: row.column_default !== null,
    });
    schema.set(row.table_name, table);
  }
  return schema;
}

/** What the previous release would trip on, going from `before` to `after`. */
function unsafeChanges(before: Schema, after: Schema): string[] {
  const unsafe: string[] = [];
  for (const [table, columns] of before) {
    const now = after.get(table);
    if (!now) {
      unsafe.push(`${table}: dropped or renamed`);
      continue;
    }
    for (const [name, was] of columns) {
      const is = now.get(name);
      if (!is) unsafe.push(`${table}.${name}: dropped or renamed`);
      else if (is.type !== was.type) unsafe.push(`${table}.${name}: ${was.type} became ${is.type}`);
      else if (was.nullable && !is.nullable && !is.hasDefault)
        unsafe.push(`${table}.${name}: made NOT NULL without a default`);
    }
    for (const [name, is] of now)
      if (!columns.has(name) && !is.nullable && !is.hasDefault)
        unsafe.push(`${table}.${name}: added NOT NULL without a default`);
  }
  return unsafe;
}

describe('migrations in a rolling upgrade', () => {
  // A contract migration takes away what the previous release uses, on purpose, and only once
  // none of it runs: migrations-finalize.test.ts.
  const expanding = Object.entries(migrations)
    .slice(1)
    .filter(([, m]) => !('contract' in m))
    .map(([name]) => name);

  it.each(expanding)('%s leaves the previous release nothing it writes or reads taken away', async (name) => {
    t = await createTestDatabase({ migrate: false });
    const db = t.whole;
    await sql`create schema if not exists ${sql.id(t.schema)}`.execute(db);
    const names = Object.keys(migrations) as (keyof typeof migrations)[];
    let before: Schema = new Map();
    for (const each of names) {
      if (each === name) before = await schemaOf(t);
      await db.transaction().execute((trx) => migrations[each].up(trx));
      if (each === name) break;
    }
    const after = await schemaOf(t);
    expect(before.size).toBeGreaterThan(0);
    expect(unsafeChanges(before, after)).toEqual([]);
  });

  it.each([
    ['a dropped column', { t: { a: col(true) } }, { t: {} }, ['t.a: dropped or renamed']],
    ['a dropped table', { t: { a: col(true) } }, {}, ['t: dropped or renamed']],
    [
      'a retyped column',
      { t: { a: col(true) } },
      { t: { a: col(true, false, 'text') } },
      ['t.a: integer became text'],
    ],
    [
      'an added NOT NULL column',
      { t: {} },
      { t: { b: col(false) } },
      ['t.b: added NOT NULL without a default'],
    ],
    ['an added NOT NULL column with a default', { t: {} }, { t: { b: col(false, true) } }, []],
    ['an added nullable column', { t: {} }, { t: { b: col(true) } }, []],
    [
      'a column made NOT NULL',
      { t: { a: col(true) } },
      { t: { a: col(false) } },
      ['t.a: made NOT NULL without a default'],
    ],
    ['a new table', {}, { u: { a: col(false) } }, []],
  ] as const)('the check itself: %s', (_, before, after, expected) => {
    expect(unsafeChanges(schema(before), schema(after))).toEqual(expected);
  });
});

function col(nullable: boolean, hasDefault = false, type = 'integer'): Column {
  return { type, nullable, hasDefault };
}

function schema(tables: Readonly<Record<string, Readonly<Record<string, Column>>>>): Schema {
  return new Map(Object.entries(tables).map(([table, columns]) => [table, new Map(Object.entries(columns))]));
}
