/** Postgres refuses a statement with more than 65,535 bind parameters. */
const MAX_PARAMETERS = 65_535;

/**
 * `rows` cut into runs that one multi-row statement can carry: under Postgres's parameter limit
 * with `parametersPerRow` each, and at most `maxRows` (a bound on one statement's size and time).
 */
export function statementChunks<T>(
  rows: readonly T[],
  parametersPerRow: number,
  maxRows = MAX_PARAMETERS,
): T[][] {
  const size = Math.max(1, Math.min(maxRows, Math.floor(MAX_PARAMETERS / parametersPerRow)));
  const chunks: T[][] = [];
  for (let i = 0; i < rows.length; i += size) chunks.push(rows.slice(i, i + size));
  return chunks;
}
