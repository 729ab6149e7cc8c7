/** `excluded.<column>` in an `on conflict … do update set`: the incoming row's value, typed as the table's column. */
import { type RawBuilder, sql, type Updateable } from 'kysely';

export function excludedColumn<Table>(): <C extends keyof Updateable<Table> & string>(
  column: C,
) => RawBuilder<Updateable<Table>[C]> {
  return (column) => sql`excluded.${sql.id(column)}`;
}
