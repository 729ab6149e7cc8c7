/**
 * WorkOS timestamps are ISO 8601, except where they are not: its own documentation shows
 * `2023-04-28 20:05:31.093` (a space, no zone). Such a timestamp is UTC.
 */
const TIMESTAMP =
  /^(\d{4}-\d{2}-\d{2})[T ](\d{2}:\d{2}(?::\d{2}(?:\.\d{1,9})?)?)\s*(Z|z|[+-]\d{2}(?::?\d{2})?)?$/;

export function parseWorkosTimestamp(value: string): Date | null {
  const match = TIMESTAMP.exec(value.trim());
  if (!match) return null;
  const [, day, time, zone] = match;
  const offset = !zone || zone === 'z' || zone === 'Z' ? 'Z' : normaliseOffset(zone);
  const date = new Date(`${day}T${truncateFraction(time!)}${offset}`);
  return Number.isNaN(date.getTime()) ? null : date;
}

/** `Date` keeps milliseconds; anything finer would make the string unparsable. */
function truncateFraction(time: string): string {
  const dot = time.indexOf('.');
  return dot === -1 ? time : time.slice(0, dot + 4);
}

function normaliseOffset(zone: string): string {
  const digits = zone.slice(1).replace(':', '');
  const hours = digits.slice(0, 2);
  const minutes = digits.slice(2) || '00';
  return `${zone[0]}${hours}:${minutes}`;
}

export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal?.aborted) return resolve();
    const timer = setTimeout(done, ms);
    signal?.addEventListener('abort', done, { once: true });
    function done() {
      clearTimeout(timer);
      signal?.removeEventListener('abort', done);
      resolve();
    }
  });
}
