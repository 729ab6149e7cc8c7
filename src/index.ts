/**
 * workos-sync as a library: `createWorkosSync(options)` mirrors WorkOS SSO connections, domains
 * and SAML certificates into Postgres from inside an application, exactly as the command line
 * does (which is a user of it). See the README's "Embed it in your app". Every type the API takes
 * or returns is exported by name (test/public-types.test.ts).
 */
export type {
  Config,
  DatabaseSettings,
  DatabaseTarget,
  DeclaredEnvironment,
  EnvironmentConfig,
  EnvironmentSchedules,
  EnvironmentsConfig,
  LogLevel,
  WebhookSettings,
  WorkosSyncSettings,
} from './config.ts';
export type { MigrateOptions, MigrationResult } from './db/migrate.ts';
export type { SessionLimits } from './db/session-limits.ts';
export type {
  ConnectionCertificatesTable,
  ConnectionDomainsTable,
  ConnectionsTable,
  Database,
  DomainRoutesView,
  EnvironmentColumn,
  EventOutcome,
  EventsTable,
  ExpiringCertificatesView,
  JsonColumn,
  LeasesTable,
  LiveConnectionDomainsView,
  LiveOrganizationDomainsView,
  OrganizationDomainsTable,
  OrganizationsTable,
  ReconciliationPassListedTable,
  ReconciliationRunsTable,
  RequestBudgetTable,
  SyncStateTable,
  TimestampColumn,
  WorkersTable,
  WriteSource,
} from './db/tables.ts';
export type { PostgresTls, SslMode } from './db/tls.ts';
export {
  ConfigError,
  CursorRejectedError,
  ERROR_KINDS,
  type ErrorKind,
  FatalError,
  type FatalKind,
  LeaseHeldError,
  RetryableError,
  SyncError,
  type TransientKind,
} from './errors.ts';
export type { Logger } from './logger.ts';
export type { BackfillResult } from './sync/backfill.ts';
export type { BackoffPolicy } from './sync/backoff.ts';
export type { CertificateReportRow } from './sync/certificates.ts';
export {
  applicationTransaction,
  type CertificateChange,
  type CertificateChangeKind,
  type CertificateSnapshot,
  type ChangeHook,
  type ChangeSource,
  type ConnectionChange,
  type ConnectionChangeKind,
  type ConnectionSnapshot,
  type DomainChange,
  type DomainChangeKind,
  type DomainSnapshot,
  type MirrorChange,
  type OrganizationChange,
  type OrganizationChangeKind,
  type OrganizationSnapshot,
} from './sync/changes/changes.ts';
export type { PageSummary } from './sync/events/page-summary.ts';
export type { EventFate } from './sync/events/plan-page.ts';
export type { PollTotals } from './sync/events/poll-once.ts';
export type { EventsRetention } from './sync/events/retention.ts';
export type { PollOptions } from './sync/poll.ts';
export type { PruneReport } from './sync/prune.ts';
export type { Drift, DriftKind, ReconciliationCounts } from './sync/reconcile/plan.ts';
export type { EntityCounts } from './sync/reconcile/plan-organizations.ts';
export type { OrganizationCounts, ReconcileOptions, ReconcileReport } from './sync/reconcile/reconcile.ts';
export type { DriftCounts, EnvironmentStatus, StatusReport } from './sync/status.ts';
export type { BasicAuth } from './worker/http-server.ts';
export type { RunningSync } from './worker/serve.ts';
export {
  createWorkosSync,
  type EnvironmentOperations,
  type EnvironmentsStatus,
  type MirrorDatabase,
  type PruneRunOptions,
  type ReconcileRunOptions,
  type StartOptions,
  type WorkosSync,
  type WorkosSyncEnvironment,
  type WorkosSyncOptions,
} from './workos-sync.ts';
