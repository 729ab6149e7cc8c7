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
  /**
   * Figure 4 with webhooks, each listing delay: the lag over `nudgeLagEvents` events one every
   * `nudgeLagEverySeconds`; the requests a minute over `nudgeEvents` one every `nudgeEverySeconds`.
   */
  readonly nudgeLagEverySeconds: number;
  readonly nudgeLagEvents: number;
  readonly nudgeEverySeconds: number;
  readonly nudgeEvents: number;
  /** Figure 4 for domains: domain events a second with 1 s polling, and one every so many seconds nudged. */
  readonly domainRate: number;
  readonly domainEvents: number;
  readonly domainNudgeEverySeconds: number;
  /** Figure 5: the two history sizes compared, over the same connections. */
  readonly memoryEvents: readonly [number, number];
  readonly memoryConnections: number;
  /** Also run the smaller history with V8's own heap growth policy, to show what bounds the peak. */
  readonly memoryV8DefaultRun: boolean;
  /** The fleet: environments, `run` replicas, the share of environments that change. */
  readonly fleetEnvironments: number;
  readonly fleetReplicas: number;
  readonly fleetActiveFraction: number;
  /** One connection change in each active environment every so many seconds, for the window. */
  readonly fleetChangeEverySeconds: number;
  readonly fleetMeasureSeconds: number;
  /** `WORKOS_SYNC_LEASE_SECONDS` for the replicas; null: the code's default. */
  readonly fleetLeaseSeconds: number | null;
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
  nudgeLagEverySeconds: 1.5,
  nudgeLagEvents: 120,
  nudgeEverySeconds: 25,
  nudgeEvents: 12,
  domainRate: 2,
  domainEvents: 120,
  domainNudgeEverySeconds: 1.5,
  memoryEvents: [100_000, 1_000_000],
  memoryConnections: 5_000,
  memoryV8DefaultRun: true,
  fleetEnvironments: 1_000,
  fleetReplicas: 3,
  fleetActiveFraction: 0.05,
  fleetChangeEverySeconds: 5,
  fleetMeasureSeconds: 60,
  fleetLeaseSeconds: null,
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
  nudgeLagEverySeconds: 1.5,
  nudgeLagEvents: 4,
  nudgeEverySeconds: 2,
  nudgeEvents: 3,
  domainRate: 2,
  domainEvents: 6,
  domainNudgeEverySeconds: 1.5,
  memoryEvents: [2_000, 10_000],
  memoryConnections: 125,
  memoryV8DefaultRun: false,
  fleetEnvironments: 30,
  fleetReplicas: 3,
  fleetActiveFraction: 0.05,
  fleetChangeEverySeconds: 2,
  // Two whole poll periods (the default's 5 s): a window shorter than one counts 0 or 1 polls.
  fleetMeasureSeconds: 10,
  // A hand-over within seconds, not the default's 35.
  fleetLeaseSeconds: 3,
};
