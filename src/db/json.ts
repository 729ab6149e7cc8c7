/**
 * JSON text for a jsonb parameter. Postgres refuses the escape `\u0000` in jsonb, and a payload
 * carrying one must still be stored (a refused insert would wedge the whole page), so it becomes
 * U+FFFD, the replacement character.
 */
export function toJsonb(value: unknown): string {
  return JSON.stringify(value).replace(/(?<!\\)((?:\\\\)*)\\u0000/g, '$1\\ufffd');
}
