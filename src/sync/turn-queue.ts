/**
 * The queue of one process's WorkOS requests waiting for a token of the request budget
 * (request-budget.ts, which runs each head's turn): urgent waiters first, a waiting request's
 * priority read again whenever the queue decides, and a routine head giving up its turn to an
 * urgent waiter. Knows nothing of tokens: a turn is whatever the gate makes of it.
 */
import type { RequestPriority } from '../workos/client.ts';

interface Waiter {
  /** Read whenever the queue decides: a waiting request may become urgent (a webhook came meanwhile). */
  readonly priority: () => RequestPriority;
  readonly signal: AbortSignal | undefined;
  resolve(): void;
  reject(reason: unknown): void;
}

/**
 * A head's turn: resolves true once its token is taken, false as soon as it is `outranked` (an
 * urgent waiter behind a routine head: the head waits again, still first of its kind), and
 * rejects once `stop` aborts. It waits with `nap`, which also ends when `stop` aborts, or when an
 * urgent waiter arrives behind a routine head (that nap only: the next one sleeps in full).
 */
export type Turn = (
  priority: () => RequestPriority,
  stop: AbortSignal,
  nap: (ms: number) => Promise<void>,
  outranked: () => boolean,
) => Promise<boolean>;

/**
 * The process's waiting requests, served one at a time: the head is the first urgent waiter, or
 * the first of all when none is urgent; each kind in arrival order. A waiter that gives up leaves
 * at once, wherever it is.
 */
export class TurnQueue {
  readonly #waiting: Waiter[] = [];
  #head: Waiter | undefined;
  /** Ends the head's nap in progress, if any. */
  #wake: (() => void) | undefined;

  constructor(private readonly turn: Turn) {}

  wait(priority: () => RequestPriority, signal: AbortSignal | undefined): Promise<void> {
    signal?.throwIfAborted();
    return new Promise<void>((resolve, reject) => {
      const abort = () => this.#leave(waiter, signal!.reason);
      const waiter: Waiter = {
        priority,
        signal,
        resolve: () => {
          signal?.removeEventListener('abort', abort);
          resolve();
        },
        reject: (reason) => {
          signal?.removeEventListener('abort', abort);
          reject(reason);
        },
      };
      signal?.addEventListener('abort', abort, { once: true });
      this.#waiting.push(waiter);
      if (priority() === 'urgent' && this.#head && this.#head.priority() !== 'urgent') this.#wake?.();
      void this.#run();
    });
  }

  #next(): Waiter | undefined {
    return this.#waiting.find((w) => w.priority() === 'urgent') ?? this.#waiting[0];
  }

  #outranked(head: Waiter): boolean {
    return head.priority() !== 'urgent' && this.#waiting.some((w) => w !== head && w.priority() === 'urgent');
  }

  #leave(waiter: Waiter, reason: unknown): void {
    // The head's own turn ends by the same signal; the others are not running: out now.
    if (this.#head === waiter) return;
    this.#remove(waiter);
    waiter.reject(reason);
  }

  #remove(waiter: Waiter): void {
    const at = this.#waiting.indexOf(waiter);
    if (at !== -1) this.#waiting.splice(at, 1);
  }

  #nap(ms: number, stop: AbortSignal): Promise<void> {
    return new Promise((resolve) => {
      if (stop.aborted) return resolve();
      const done = () => {
        clearTimeout(timer);
        stop.removeEventListener('abort', done);
        if (this.#wake === done) this.#wake = undefined;
        resolve();
      };
      const timer = setTimeout(done, ms);
      stop.addEventListener('abort', done, { once: true });
      this.#wake = done;
    });
  }

  async #run(): Promise<void> {
    if (this.#head) return;
    for (let waiter = this.#next(); waiter; waiter = this.#next()) {
      this.#head = waiter;
      const stop = waiter.signal ?? new AbortController().signal;
      const nap = (ms: number) => this.#nap(ms, stop);
      try {
        if (!(await this.turn(waiter.priority, stop, nap, () => this.#outranked(waiter)))) {
          // Outranked: the urgent waiter goes next. Through the event loop, not at once, so that a
          // head picked and outranked over and over (priorities read inconsistently) is a busy
          // loop that timers and aborts still reach, never one of microtasks that starves them.
          await new Promise((resolve) => setImmediate(resolve));
          continue;
        }
        this.#remove(waiter);
        waiter.resolve();
      } catch (error) {
        this.#remove(waiter);
        waiter.reject(error);
      } finally {
        this.#head = undefined;
        this.#wake = undefined;
      }
    }
  }
}
