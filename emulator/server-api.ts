/**
 * What `startEmulator` takes and what it returns: the options (the `default` environment's model
 * and key, more environments, webhooks, the listening address), the running emulator's handle, and
 * the record it keeps of each request. The server itself is `server.ts`.
 */
import type { EmulatorEnvironment, EnvironmentOptions } from './environments.ts';
import type { FaultInjector, FaultKind } from './faults.ts';
import type { WorkosModel } from './model.ts';
import type { WebhookDeliveryRecord } from './webhook-delivery-log.ts';
import type { EmulatorWebhooks } from './webhook-dispatcher.ts';
import type { WebhookEndpointOptions } from './webhook-endpoint.ts';

export interface StartEmulatorOptions {
  model?: WorkosModel;
  /**
   * The clock offset of the model built when `model` is not given (`WorkosModelOptions`). A model
   * passed in carries its own (`new WorkosModel({ clockOffsetMs })`, so its history is written in
   * that clock): giving both throws.
   */
  clockOffsetMs?: number;
  /**
   * Sets how long, in ms of WorkOS's clock, a new event stays out of `GET /events`
   * (`WorkosModel.setVisibilityDelay`), on the model built or the one passed in. Default: the
   * model's own (0 for a model built here).
   */
  visibilityDelayMs?: number;
  /**
   * Deliver every event appended from start-up on to this endpoint as a signed webhook (later:
   * `Emulator.webhooks.configure`, or `PUT /_emulator/webhooks`). Throws WebhookEndpointError
   * for a bad setting. Default: none.
   */
  webhook?: WebhookEndpointOptions;
  /**
   * Told when a webhook delivery reaches its final state (delivered, failed, abandoned, dropped),
   * with the name of the environment whose event it was.
   */
  onWebhookSettled?: (record: WebhookDeliveryRecord, environment: string) => void;
  /**
   * The `default` environment's API key, or a test of the bearer token (`workos-sync emulator`
   * accepts any `sk_test_…` key this way). Another environment's exact key wins over a test.
   */
  apiKey: string | ((key: string) => boolean);
  /**
   * More environments, each with its own key and world, served beside `default` from the start
   * (later: `Emulator.addEnvironment`). Throws EnvironmentError for a refused one.
   */
  environments?: ReadonlyArray<EnvironmentOptions & { name: string }>;
  /** 0 (default): an ephemeral port. */
  port?: number;
  /** Default 127.0.0.1. */
  host?: string;
  /**
   * Cap on `requests` (default 100,000) so a long-running dev emulator does not grow without
   * bound; past it the oldest half is dropped.
   */
  maxRecordedRequests?: number;
  /**
   * Default true: render, in the background, the signing certificates the model holds at start,
   * so the first listing does not pay for them (a PEM costs a few milliseconds). Requests are
   * served meanwhile; certificates set later render on first listing.
   */
  warmCertificates?: boolean;
}

export interface RecordedRequest {
  method: string;
  path: string;
  /** Query parameters; a repeated parameter's values are joined with ','. */
  query: Record<string, string>;
  /** The status answered; 0 while pending or when a `hang` fault never answered. */
  status: number;
  /** The request's User-Agent header, as sent (absent: undefined). */
  userAgent: string | undefined;
  /**
   * The environment it was for: its key's (WorkOS API), or the one a control call addressed (or
   * created). Absent for a refused key and for the control calls that address none (the list of
   * environments, the faults).
   */
  environment?: string;
  fault?: FaultKind;
}

export interface Emulator {
  url: string;
  host: string;
  port: number;
  /** The `default` environment's model. */
  model: WorkosModel;
  /** Every environment's: a rule hits all of them unless it names one (`FaultRule.environment`). */
  faults: FaultInjector;
  /** The `default` environment's webhook endpoint and the log of deliveries to it. */
  webhooks: EmulatorWebhooks;
  /** The environment of that name (`default` included), or undefined. */
  environment(name: string): EmulatorEnvironment | undefined;
  /** Every environment, `default` first, then in the order they were added. */
  environments(): EmulatorEnvironment[];
  /**
   * Serves another environment from now on, for requests with its key; its model is built empty
   * (`EnvironmentOptions`) unless given. Throws EnvironmentError (name or key taken or malformed).
   */
  addEnvironment(name: string, options: EnvironmentOptions): EmulatorEnvironment;
  requests: RecordedRequest[];
  /** Settles when the background rendering of the certificates held at start is done (never rejects). */
  certificatesWarm: Promise<void>;
  close(): Promise<void>;
}
