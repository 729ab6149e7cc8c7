/**
 * What one WorkOS environment's model is made of, wired once: the shared clock, ids and event log,
 * the stores holding connections and organisations, and the books that change them.
 */

import { CertificateEvents } from './certificate-events.ts';
import { ModelClock } from './clock.ts';
import { ConnectionBook } from './connection-book.ts';
import { ConnectionFactory } from './connection-factory.ts';
import { ConnectionStore } from './connection-store.ts';
import { DomainFollowers } from './domain-followers.ts';
import { EventLog } from './event-log.ts';
import { DEFAULT_ENVIRONMENT, IdGenerator } from './ids.ts';
import { OrganizationBook } from './organization-book.ts';
import { OrganizationDomainBook } from './organization-domain-book.ts';
import { OrganizationFactory } from './organization-factory.ts';
import { OrganizationStore } from './organization-store.ts';
import { Random } from './random.ts';

export interface WorkosModelOptions {
  /** Seeds ids and external keys; same seed + same clock ⇒ same ids. */
  seed?: number;
  /**
   * The WorkOS environment this model is, mixed into every id it mints (`ids.ts`), so models of
   * different environments never mint the same id, whatever their seeds and clocks. Default
   * `default`: the ids a model has always minted.
   */
  environment?: string;
  /** The base clock the offset is added to. Defaults to real time. */
  clock?: () => Date;
  /**
   * How far WorkOS's clock runs ahead of (positive) or behind (negative) the base clock, in ms
   * (default 0). Everything the model stamps — events, connections, ids — is in the shifted clock.
   */
  clockOffsetMs?: number;
  /** Events older than now − retentionMs are not listed and their ids are rejected as cursors. */
  retentionMs?: number;
  /**
   * Events younger than this (in ms of WorkOS's clock) are not listed yet, as WorkOS lists an event
   * a few seconds after creating it. Default 0: listed at once. `setVisibilityDelay` changes it.
   */
  visibilityDelayMs?: number;
}

export interface ModelParts {
  /** The environment's name (`WorkosModelOptions.environment`). */
  readonly environment: string;
  readonly time: ModelClock;
  /** WorkOS's "now": `time.now()`. */
  readonly clock: () => Date;
  readonly ids: IdGenerator;
  readonly log: EventLog;
  readonly connectionStore: ConnectionStore;
  readonly organizationStore: OrganizationStore;
  readonly connections: ConnectionBook;
  readonly certificates: CertificateEvents;
  readonly organizations: OrganizationBook;
  readonly domains: OrganizationDomainBook;
  /** The connections listing their organisation's domains. */
  readonly followers: DomainFollowers;
}

export function assembleModel(options: WorkosModelOptions): ModelParts {
  const seed = options.seed ?? 0x5eed;
  const time = new ModelClock(options.clock ?? (() => new Date()), options.clockOffsetMs ?? 0);
  const clock = () => time.now();
  const environment = options.environment ?? DEFAULT_ENVIRONMENT;
  const ids = new IdGenerator(seed, environment);
  const log = new EventLog({
    clock,
    ids,
    retentionMs: options.retentionMs,
    visibilityDelayMs: options.visibilityDelayMs,
  });
  const connectionStore = new ConnectionStore();
  const organizationStore = new OrganizationStore();
  const followers = new DomainFollowers();
  // Separate streams: organisations never shift a connection's external key.
  const connectionFactory = new ConnectionFactory(ids, new Random(seed ^ 0xe7e7));
  const organizationFactory = new OrganizationFactory(ids, new Random(seed ^ 0x0d0a));
  const connections = new ConnectionBook(
    clock,
    log,
    connectionStore,
    connectionFactory,
    organizationStore,
    followers,
  );
  const organizations = new OrganizationBook(organizationStore, organizationFactory, log, followers);
  return {
    environment,
    time,
    clock,
    ids,
    log,
    connectionStore,
    organizationStore,
    connections,
    certificates: new CertificateEvents(log, connections, connectionFactory),
    organizations,
    domains: new OrganizationDomainBook(
      organizationStore,
      organizationFactory,
      log,
      followers,
      organizations,
    ),
    followers,
  };
}
