/**
 * Queued faults for the HTTP emulator. A test queues rules; each request takes the first rule that
 * matches its path and consumes one of its uses, so "the next two /events calls answer 429" is one
 * `add` call and the third call is served normally again.
 *
 * The queue is the emulator's, not one environment's: a rule hits the requests of every
 * environment, as a WorkOS outage does, unless it names one (`environment`), e.g. to throttle one
 * environment of a fleet while the others are served.
 */

export type FaultPath = '/events' | '/connections';

export type Fault =
  /** Answer with this status (and JSON body, `{ message }` by default) instead of serving. */
  | { kind: 'status'; status: number; retryAfter?: number; body?: unknown }
  /** Wait, then serve normally. */
  | { kind: 'delay'; ms: number }
  /** Never answer; the socket stays open until the client gives up or the emulator closes. */
  | { kind: 'hang' }
  /** 200 with `Content-Type: application/json` and a body that is not valid JSON. */
  | { kind: 'malformed-json' }
  /** Start sending the real body, then destroy the socket halfway. */
  | { kind: 'truncate' };

export type FaultKind = Fault['kind'];

export type FaultRule = Fault & {
  /** `/connections` also matches `/connections/:id`. Absent: any path. */
  path?: FaultPath;
  /** How many matching requests this rule affects (default 1). */
  times?: number;
  /** Only requests made with this environment's API key. Absent: every environment's. */
  environment?: string;
};

interface QueuedRule {
  rule: FaultRule;
  remaining: number;
}

function matches(rule: FaultRule, path: string, environment: string | undefined): boolean {
  if (rule.environment !== undefined && rule.environment !== environment) return false;
  return rule.path === undefined || path === rule.path || path.startsWith(`${rule.path}/`);
}

export class FaultInjector {
  private readonly queue: QueuedRule[] = [];

  add(rule: FaultRule): this {
    const remaining = rule.times ?? 1;
    if (!Number.isInteger(remaining) || remaining < 1)
      throw new Error('FaultRule.times must be a positive integer');
    this.queue.push({ rule, remaining });
    return this;
  }

  /**
   * The fault for a request to `path` (with the key of `environment`), consuming one use;
   * undefined means serve normally.
   */
  take(path: string, environment?: string): FaultRule | undefined {
    const index = this.queue.findIndex((q) => matches(q.rule, path, environment));
    const queued = this.queue[index];
    if (!queued) return undefined;
    queued.remaining -= 1;
    if (queued.remaining === 0) this.queue.splice(index, 1);
    return queued.rule;
  }

  clear(): void {
    this.queue.length = 0;
  }

  /** Rules not yet used up, with their remaining uses. */
  pending(): Array<FaultRule & { remaining: number }> {
    return this.queue.map((q) => ({ ...q.rule, remaining: q.remaining }));
  }
}
