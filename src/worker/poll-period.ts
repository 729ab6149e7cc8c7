/**
 * How far apart a node-cron schedule fires, so readiness can say "no successful poll for three
 * periods" without a second, hand-maintained interval setting that could disagree with the cron.
 */
import { createTask } from 'node-cron';

/**
 * Fires sampled: enough to span a weekend in a weekdays-only schedule (5 fires a week) and a short
 * month in a monthly one, so an irregular schedule reports its longest gap, not a lucky short one.
 */
const SAMPLES = 12;

/**
 * The longest interval, in milliseconds, between consecutive fires of `cronExpression` (5 or 6
 * fields, as node-cron 4 reads it) over its next few fires. For a regular schedule that is simply
 * its period: `*\/5 * * * * *` → 5000, `17 * * * *` → 3600000. Evaluated in UTC unless told
 * otherwise (a local zone only adds or removes a DST hour). Throws on an invalid expression.
 */
export function schedulePeriodMs(cronExpression: string, timezone = 'UTC'): number {
  // A millisecond or so each, asked for every environment of a fleet, most on the same schedules.
  const key = `${timezone} ${cronExpression}`;
  let period = periods.get(key);
  if (period === undefined) {
    period = measurePeriodMs(cronExpression, timezone);
    periods.set(key, period);
  }
  return period;
}

const periods = new Map<string, number>();

function measurePeriodMs(cronExpression: string, timezone: string): number {
  // node-cron exposes its matcher only through a task; a task that is never started sets no
  // timer, and destroying it takes it back out of node-cron's global task registry.
  const task = createTask(cronExpression, () => undefined, { timezone });
  try {
    const fires = task.getNextRuns(SAMPLES).map((date) => date.getTime());
    let longest = 0;
    for (let i = 1; i < fires.length; i++) longest = Math.max(longest, fires[i]! - fires[i - 1]!);
    if (!(longest > 0)) throw new Error(`cron expression "${cronExpression}" has no recurring period`);
    return longest;
  } finally {
    // An inline task's destroy is synchronous; a rejection here would only mean it was gone.
    Promise.resolve(task.destroy()).catch(() => undefined);
  }
}
