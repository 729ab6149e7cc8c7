/** How big each figure runs: the sizes, or a small version of each for `--quick`. */

export interface Sizes {
  /** Figure 1: events, and the connections they are spread over. */
  readonly backfillEvents: number;
  readonly backfillConnections: number;
  /** Figure 6, local: how much of figure 1's stream the straightforward loop runs (its rate is flat). */
  readonly straightforwardEvents: number;
  /** Figure 2 (and figure 6 with latency). */
  readonly latencyEvents: number;
  /** Figure 3. */
  readonly reconcileConnections: number;
  readonly driftFraction: number;
  /** Figure 4. */
  readonly liveRate: number;
  readonly liveSeconds: number;
  /** Figure 4 with webhooks: one event every so many seconds, so many events (each listing delay). */
  readonly nudgeEverySeconds: number;
  readonly nudgeEvents: number;
  /** Figure 5: the two history sizes compared, over the same connections. */
  readonly memoryEvents: readonly [number, number];
  readonly memoryConnections: number;
  /** Also run the smaller history with V8's own heap growth policy, to show what bounds the peak. */
  readonly memoryV8DefaultRun: boolean;
}

export const FULL: Sizes = {
  backfillEvents: 200_000,
  backfillConnections: 5_000,
  straightforwardEvents: 10_000,
  latencyEvents: 20_000,
  reconcileConnections: 50_000,
  driftFraction: 0.01,
  liveRate: 50,
  liveSeconds: 60,
  nudgeEverySeconds: 25,
  nudgeEvents: 12,
  memoryEvents: [100_000, 1_000_000],
  memoryConnections: 5_000,
  memoryV8DefaultRun: true,
};

export const QUICK: Sizes = {
  backfillEvents: 5_000,
  backfillConnections: 125,
  straightforwardEvents: 500,
  latencyEvents: 500,
  reconcileConnections: 2_000,
  driftFraction: 0.01,
  liveRate: 50,
  liveSeconds: 5,
  nudgeEverySeconds: 2,
  nudgeEvents: 3,
  memoryEvents: [2_000, 10_000],
  memoryConnections: 125,
  memoryV8DefaultRun: false,
};
