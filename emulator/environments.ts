/**
 * The WorkOS environments one emulator serves (production, staging, …, a fleet of a thousand),
 * each its own world: its own model (connections, organisations, event log, clock) and its own
 * webhook endpoint. A request's API key picks its environment, as each WorkOS key belongs to one.
 *
 * `default` always exists: it is the environment of `startEmulator({ model, apiKey })`, so an
 * emulator given no other environment is exactly the single-world emulator it always was. Its key
 * may be a test of the bearer token (the CLI accepts any `sk_test_…` key); a named environment has
 * one exact key, and an exact key wins over that test, so `sk_test_staging` can pick `staging`
 * while every other `sk_test_…` key still picks `default`.
 *
 * Ids stay unique across environments (WorkOS's are, and mirrors rely on it): each model mixes its
 * environment's name into its ids (`ids.ts`), and the registry takes only a model built for the
 * environment it serves (so never one model twice), and refuses two names whose ids' tags agree.
 */
import { DEFAULT_ENVIRONMENT } from './ids.ts';
import { WorkosModel } from './model.ts';
import type { WebhookDeliveryRecord } from './webhook-delivery-log.ts';
import { type EmulatorWebhooks, WebhookDispatcher } from './webhook-dispatcher.ts';
import type { WebhookEndpointOptions } from './webhook-endpoint.ts';

export interface EmulatorEnvironment {
  readonly name: string;
  readonly model: WorkosModel;
  /** Its webhook endpoint (none unless set) and the log of deliveries to it. */
  readonly webhooks: EmulatorWebhooks;
}

export interface EnvironmentOptions {
  /** The one key that picks it: not empty, no spaces, no other environment's. */
  apiKey: string;
  /**
   * Its world. Default: an empty model built for it (`newModel`). A model passed in must have been
   * built for it (`new WorkosModel({ environment: name })`), so that its ids are its own.
   */
  model?: WorkosModel;
  /** Seeds the model built when `model` is not given (`WorkosModelOptions.seed`). */
  seed?: number;
  /** Deliver its events to this endpoint from now on (throws WebhookEndpointError). Default: none. */
  webhook?: WebhookEndpointOptions;
}

/** A refused environment; `conflict`: the name or key is another environment's. */
export class EnvironmentError extends Error {
  override readonly name = 'EnvironmentError';
  constructor(
    message: string,
    readonly conflict = false,
  ) {
    super(message);
  }
}

const NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;
export const ENVIRONMENT_NAME_RULE =
  'must be 1 to 64 letters, digits, ".", "_" or "-", starting with a letter or digit';

interface Entry extends EmulatorEnvironment {
  stop: () => void;
  dispatcher: WebhookDispatcher;
}

export interface EnvironmentRegistryOptions {
  /** The default environment's key: exact, or a test of the bearer token. */
  defaultKey: string | ((key: string) => boolean);
  /** Told when a delivery of any environment reaches its final state. */
  onWebhookSettled?: (record: WebhookDeliveryRecord, environment: string) => void;
}

export class EnvironmentRegistry {
  private readonly byName = new Map<string, Entry>();
  private readonly byKey = new Map<string, Entry>();
  /** Id tag ('' for the default layout) → the environment whose model mints it. */
  private readonly byTag = new Map<string, string>();
  private readonly defaultTest: ((key: string) => boolean) | undefined;
  readonly default: EmulatorEnvironment;

  constructor(
    model: WorkosModel,
    private readonly options: EnvironmentRegistryOptions,
    webhook?: WebhookEndpointOptions,
  ) {
    const { defaultKey } = options;
    this.defaultTest = typeof defaultKey === 'function' ? defaultKey : undefined;
    this.default = this.register(
      DEFAULT_ENVIRONMENT,
      model,
      typeof defaultKey === 'string' ? defaultKey : undefined,
      webhook,
    );
  }

  /**
   * The empty model an environment gets when none is given: its name in its ids, and WorkOS's
   * clock offset and visibility delay as the default environment's are now.
   */
  newModel(name: string, seed?: number): WorkosModel {
    const { model } = this.default;
    return new WorkosModel({
      environment: name,
      seed,
      clockOffsetMs: model.clockOffsetMs,
      visibilityDelayMs: model.visibilityDelayMs,
    });
  }

  /**
   * Why `add` would refuse this name and key (a model's own refusals aside), or undefined: lets a
   * caller check before it builds a large world for nothing.
   */
  problem(name: string, apiKey: string): EnvironmentError | undefined {
    if (typeof name !== 'string' || !NAME.test(name))
      return new EnvironmentError(`environment name ${JSON.stringify(name)} ${ENVIRONMENT_NAME_RULE}`);
    if (this.byName.has(name)) return new EnvironmentError(`environment '${name}' exists already`, true);
    if (typeof apiKey !== 'string' || apiKey === '' || /\s/.test(apiKey))
      return new EnvironmentError(`environment '${name}': apiKey must be a non-empty key without spaces`);
    const holder = this.byKey.get(apiKey);
    if (holder) return new EnvironmentError(`environment '${name}': apiKey is '${holder.name}''s key`, true);
    return undefined;
  }

  /** Adds a named environment; throws EnvironmentError (or WebhookEndpointError) and adds nothing. */
  add(name: string, options: EnvironmentOptions): EmulatorEnvironment {
    const { apiKey, model, seed } = options;
    const problem = this.problem(name, apiKey);
    if (problem) throw problem;
    if (model && seed !== undefined)
      throw new EnvironmentError(`environment '${name}': give seed to the model passed in, not beside it`);
    return this.register(name, model ?? this.newModel(name, seed), apiKey, options.webhook);
  }

  get(name: string): EmulatorEnvironment | undefined {
    return this.byName.get(name);
  }

  /** `default` first, then in the order they were added. */
  list(): EmulatorEnvironment[] {
    return [...this.byName.values()];
  }

  /** The environment an `Authorization` header's bearer key picks; undefined: 401. */
  forAuthorization(header: string | undefined): EmulatorEnvironment | undefined {
    if (header?.startsWith('Bearer ') !== true) return undefined;
    const key = header.slice(7);
    const exact = this.byKey.get(key);
    if (exact) return exact;
    return this.defaultTest?.(key) === true ? this.default : undefined;
  }

  /** Stops every environment's deliveries; resolves once their attempts in flight have settled. */
  async close(): Promise<void> {
    const entries = [...this.byName.values()];
    for (const entry of entries) entry.stop();
    await Promise.all(entries.map((entry) => entry.dispatcher.close()));
  }

  private register(
    name: string,
    model: WorkosModel,
    apiKey: string | undefined,
    webhook: WebhookEndpointOptions | undefined,
  ): Entry {
    if (model.environment !== name)
      throw new EnvironmentError(
        `environment '${name}': its model was built for '${model.environment}': ` +
          `build it with new WorkosModel({ environment: '${name}' }), or let the emulator build it`,
      );
    const tag = model.idTag ?? '';
    const sharer = this.byTag.get(tag);
    // 45 bits of SHA-256: two names sharing a tag is all but impossible, but it must never pass.
    if (sharer !== undefined)
      throw new EnvironmentError(`environment '${name}' would mint '${sharer}''s ids: choose another name`);
    const { onWebhookSettled } = this.options;
    const dispatcher = new WebhookDispatcher({
      clock: model.clock,
      onSettled: onWebhookSettled && ((record) => onWebhookSettled(record, name)),
    });
    if (webhook) dispatcher.configure(webhook);
    const stop = model.onEvent((event) => dispatcher.enqueue(event));
    const entry: Entry = { name, model, webhooks: dispatcher, dispatcher, stop };
    this.byName.set(name, entry);
    this.byTag.set(tag, name);
    if (apiKey !== undefined) this.byKey.set(apiKey, entry);
    return entry;
  }
}
