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
  LogLevel,
  WebhookSettings,
  WorkosSyncSettings,
} from './config.ts';
export type { MigrationResult } from './db/migrate.ts';
export type { SessionLimits } from './db/session-limits.ts';
export type {
  ConnectionCertificatesTable,
  ConnectionDomainsTable,
  ConnectionsTable,
  Database,
  DomainRoutesView,
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
  SyncStateTable,
  TimestampColumn,
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
  RetryableError,
  SyncError,
  type TransientKind,
} from './errors.ts';
export type { Logger } from './logger.ts';
export type { BackfillOptions, BackfillResult } from './sync/backfill.ts';
export type { BackoffPolicy } from './sync/backoff.ts';
export type { CertificateReportRow } from './sync/certificates.ts';
export type {
  CertificateChange,
  CertificateChangeKind,
  CertificateSnapshot,
  ChangeHook,
  ChangeSource,
  ConnectionChange,
  ConnectionChangeKind,
  ConnectionSnapshot,
  DomainChange,
  DomainChangeKind,
  DomainSnapshot,
  MirrorChange,
  OrganizationChange,
  OrganizationChangeKind,
  OrganizationSnapshot,
} from './sync/changes/changes.ts';
export type { PageSummary } from './sync/events/apply-page.ts';
export type { EventFate } from './sync/events/plan-page.ts';
export type { DrainTotals } from './sync/events/poll-once.ts';
export type { Drift, DriftKind, ReconciliationCounts } from './sync/reconcile/plan.ts';
export type { EntityCounts } from './sync/reconcile/plan-organizations.ts';
export type { OrganizationCounts, ReconcileOptions, ReconcileReport } from './sync/reconcile/reconcile.ts';
export type { DriftCounts, StatusReport } from './sync/status.ts';
export type { RunningSync } from './worker/serve.ts';
export {
  createWorkosSync,
  type MirrorDatabase,
  type StartOptions,
  type WorkosSync,
  type WorkosSyncOptions,
} from './workos-sync.ts';
