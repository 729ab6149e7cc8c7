/**
 * workos-sync as a library: `createWorkosSync(options)` mirrors WorkOS SSO connections, domains
 * and SAML certificates into Postgres from inside an application, exactly as the command line
 * does (which is a user of it). See the README's "Embed it in your app".
 */
export type { DatabaseTarget, LogLevel, WorkosSyncSettings } from './config.ts';
export type { Database } from './db/tables.ts';
export {
  ConfigError,
  CursorRejectedError,
  ERROR_KINDS,
  type ErrorKind,
  FatalError,
  RetryableError,
  SyncError,
} from './errors.ts';
export type { Logger } from './logger.ts';
export type { BackfillResult } from './sync/backfill.ts';
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
export type { PollTotals } from './sync/events/poll-once.ts';
export type { PollOptions } from './sync/poll.ts';
export type { Drift, ReconciliationCounts } from './sync/reconcile/plan.ts';
export type { ReconcileOptions, ReconcileReport } from './sync/reconcile/reconcile.ts';
export type { StatusReport } from './sync/status.ts';
export type { RunningSync } from './worker/serve.ts';
export {
  createWorkosSync,
  type MirrorDatabase,
  type StartOptions,
  type WorkosSync,
  type WorkosSyncOptions,
} from './workos-sync.ts';
