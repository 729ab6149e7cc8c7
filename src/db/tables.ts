/** Kysely's view of the tables that migrations/ creates. */
import type { ColumnType, Generated, Insertable, Selectable } from 'kysely';

/** A timestamptz column: read as a Date, written as a Date or an ISO string. */
export type TimestampColumn = ColumnType<Date, Date | string, Date | string>;
/** A jsonb column: read parsed, written as JSON text. */
export type JsonColumn = ColumnType<unknown, string, string>;

/**
 * Required on every insert once the keys are finalized (0007 drops its default); optional until
 * then for the previous release's sake only, never relied upon by this one.
 */
export type EnvironmentColumn = ColumnType<string, string | undefined, string>;

export type WriteSource = 'event' | 'listing';
export type EventOutcome = 'applied' | 'stale' | 'ignored' | 'quarantined';

export interface ConnectionsTable {
  /** The WorkOS environment the row belongs to: the first column of every key. */
  environment: EnvironmentColumn;
  id: string;
  organization_id: string | null;
  connection_type: string;
  name: string;
  state: string;
  created_at: TimestampColumn | null;
  updated_at: TimestampColumn;
  deleted_at: TimestampColumn | null;
  raw: JsonColumn;
  source: WriteSource;
  last_event_id: string | null;
  synced_at: Generated<Date>;
  /** When WorkOS was seen in this state (an event's time, a listing's): breaks ties of `updated_at`. */
  observed_at: TimestampColumn | null;
}

export interface ConnectionDomainsTable {
  /** The WorkOS environment the row belongs to: the first column of every key. */
  environment: EnvironmentColumn;
  id: string;
  connection_id: string;
  domain: string;
}

export interface OrganizationsTable {
  /** The WorkOS environment the row belongs to: the first column of every key. */
  environment: EnvironmentColumn;
  id: string;
  name: string;
  external_id: string | null;
  created_at: TimestampColumn | null;
  updated_at: TimestampColumn;
  deleted_at: TimestampColumn | null;
  /** The last payload applied, without `verification_token`s (`sync/redact.ts`). */
  raw: JsonColumn;
  source: WriteSource;
  last_event_id: string | null;
  synced_at: Generated<Date>;
  observed_at: TimestampColumn | null;
}

export interface OrganizationDomainsTable {
  /** The WorkOS environment the row belongs to: the first column of every key. */
  environment: EnvironmentColumn;
  id: string;
  organization_id: string;
  domain: string;
  /** `pending`, `verified`, `failed`, … (text: WorkOS adds values). */
  state: string | null;
  verification_strategy: string | null;
  created_at: TimestampColumn | null;
  updated_at: TimestampColumn;
  deleted_at: TimestampColumn | null;
  source: WriteSource;
  last_event_id: string | null;
  synced_at: Generated<Date>;
  observed_at: TimestampColumn | null;
}

export interface ConnectionCertificatesTable {
  /** The WorkOS environment the row belongs to: the first column of every key. */
  environment: EnvironmentColumn;
  connection_id: string;
  certificate_type: string;
  organization_id: string | null;
  expiry_date: TimestampColumn;
  is_expired: boolean | null;
  days_until_expiry: number | null;
  renewed_at: TimestampColumn | null;
  renewal_required_at: TimestampColumn | null;
  /** The event time (or listing time) this row reflects; older news never overwrites it. */
  version_at: TimestampColumn;
  source: WriteSource;
  last_event_id: string | null;
  synced_at: Generated<Date>;
  /** SHA-256 fingerprint and subject, when learned from a listing's `options.signing_cert`. */
  fingerprint: string | null;
  subject: string | null;
}

export interface EventsTable {
  /** The WorkOS environment the row belongs to: the first column of every key. */
  environment: EnvironmentColumn;
  id: string;
  seq: Generated<string>;
  event: string;
  created_at: TimestampColumn | null;
  data: JsonColumn | null;
  context: JsonColumn | null;
  outcome: EventOutcome;
  error: string | null;
  received_at: Generated<Date>;
}

export interface ReconciliationRunsTable {
  /** The WorkOS environment the row belongs to: the first column of every key. */
  environment: EnvironmentColumn;
  id: Generated<string>;
  started_at: TimestampColumn;
  finished_at: TimestampColumn | null;
  status: string;
  dry_run: Generated<boolean>;
  seen: Generated<number>;
  inserted: Generated<number>;
  updated: Generated<number>;
  /** Listed connections written only to advance their version (same content, newer `updated_at`). */
  touched: Generated<number>;
  deleted: Generated<number>;
  unchanged: Generated<number>;
  error: string | null;
  /** Listed connections that failed validation (never deleted, never written). */
  invalid: Generated<number>;
  certificates_updated: Generated<number>;
  certificates_unparsable: Generated<number>;
  /** False for a run bounded by `--max-pages` that stopped before the listing's end. */
  listing_complete: Generated<boolean>;
  /** Whether the run listed organizations too (runs of releases before organizations did not). */
  organizations_listed: Generated<boolean>;
  organizations_seen: Generated<number>;
  organizations_inserted: Generated<number>;
  organizations_updated: Generated<number>;
  organizations_deleted: Generated<number>;
  domains_seen: Generated<number>;
  domains_inserted: Generated<number>;
  domains_updated: Generated<number>;
  domains_deleted: Generated<number>;
  /**
   * The listing's time (WorkOS's clock) of a run that listed every connection itself, from its
   * first page to its end; null for a dry run, a failed one, or a part of a bounded pass.
   */
  listed_at: TimestampColumn | null;
}

export interface SyncStateTable {
  /** The WorkOS environment the row belongs to: the first column of every key. */
  environment: EnvironmentColumn;
  stream: string;
  cursor: string | null;
  cursor_updated_at: TimestampColumn | null;
  last_event_created_at: TimestampColumn | null;
  last_poll_at: TimestampColumn | null;
  last_poll_error: string | null;
  caught_up_at: TimestampColumn | null;
  last_recovery_at: TimestampColumn | null;
  last_recovery_reason: string | null;
  /** Stream `reconciliation`: when the bounded pass under way began (database clock). */
  pass_began_at: TimestampColumn | null;
}

/** The connections a bounded reconciliation pass listed so far. */
export interface ReconciliationPassListedTable {
  /** The WorkOS environment the row belongs to: the first column of every key. */
  environment: EnvironmentColumn;
  connection_id: string;
}

export interface LeasesTable {
  /** The WorkOS environment the row belongs to: the first column of every key. */
  environment: EnvironmentColumn;
  name: string;
  holder: string;
  acquired_at: TimestampColumn;
  expires_at: TimestampColumn;
}

/** Views (read-only). */
export interface LiveConnectionDomainsView {
  environment: string;
  id: string;
  connection_id: string;
  domain: string;
  organization_id: string | null;
  state: string;
}

export interface ExpiringCertificatesView {
  environment: string;
  connection_id: string;
  certificate_type: string;
  organization_id: string | null;
  connection_name: string | null;
  connection_state: string | null;
  expiry_date: Date;
  is_expired: boolean;
  days_left: number;
  renewed_at: Date | null;
  renewal_required_at: Date | null;
  source: WriteSource;
}

export interface LiveOrganizationDomainsView {
  environment: string;
  id: string;
  organization_id: string;
  organization_name: string | null;
  domain: string;
  state: string | null;
  verification_strategy: string | null;
  created_at: Date | null;
  updated_at: Date;
}

/** A live domain → each live connection of its organization (null: it has none). */
export interface DomainRoutesView {
  environment: string;
  domain: string;
  domain_id: string;
  domain_state: string | null;
  verification_strategy: string | null;
  organization_id: string;
  organization_name: string | null;
  connection_id: string | null;
  connection_name: string | null;
  connection_type: string | null;
  connection_state: string | null;
}

/** A live replica of the worker (migrations/0006). */
export interface WorkersTable {
  id: string;
  release: string;
  started_at: Generated<Date>;
  heartbeat_at: Generated<Date>;
  /** How many environments it holds the lease of, as of its last heartbeat. */
  environments: Generated<number>;
}

/** The fleet's WorkOS request budget: a token bucket, and a pause a 429 asked for. */
export interface RequestBudgetTable {
  name: string;
  tokens: number;
  refilled_at: TimestampColumn;
  paused_until: TimestampColumn | null;
}

export interface Database {
  connections: ConnectionsTable;
  connection_domains: ConnectionDomainsTable;
  connection_certificates: ConnectionCertificatesTable;
  organizations: OrganizationsTable;
  organization_domains: OrganizationDomainsTable;
  events: EventsTable;
  reconciliation_runs: ReconciliationRunsTable;
  sync_state: SyncStateTable;
  reconciliation_pass_listed: ReconciliationPassListedTable;
  leases: LeasesTable;
  workers: WorkersTable;
  request_budget: RequestBudgetTable;
  live_connections: ConnectionsTable;
  live_connection_domains: LiveConnectionDomainsView;
  expiring_certificates: ExpiringCertificatesView;
  live_organizations: OrganizationsTable;
  live_organization_domains: LiveOrganizationDomainsView;
  domain_routes: DomainRoutesView;
}

export type ConnectionRow = Selectable<ConnectionsTable>;
export type NewConnection = Insertable<ConnectionsTable>;
export type CertificateRow = Selectable<ConnectionCertificatesTable>;
export type NewCertificate = Insertable<ConnectionCertificatesTable>;
export type NewEvent = Insertable<EventsTable>;
