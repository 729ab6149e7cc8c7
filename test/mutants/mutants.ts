// biome-ignore-all lint/suspicious/noTemplateCurlyInString: mutants quote source text, template placeholders included.
import { createHash } from 'node:crypto';

/**
 * The invariants broken on purpose, one line each (see `run.ts`). `find` must occur exactly once
 * in `file`; `tests` are the files that cover the broken line (the runner's default scope).
 * Numbers 1–6 and 7–10 are the mutants and weak spots an earlier review found surviving.
 */
export interface Mutant {
  readonly id: number;
  /** The rule the line enforces, as a reader would look for it. */
  readonly rule: string;
  readonly file: string;
  readonly find: string;
  readonly replace: string;
  readonly tests: readonly string[];
}

/**
 * A short digest of a mutant's patch (its file, the text it finds, what it puts instead): the
 * README's table names it beside each outcome, so a row whose mutant changed since it was run
 * is caught (test/mutants-apply.test.ts) until the mutant is run again.
 */
export function patchDigest(mutant: Mutant): string {
  return createHash('sha256')
    .update(`${mutant.file}\0${mutant.find}\0${mutant.replace}`)
    .digest('hex')
    .slice(0, 8);
}

const VERSIONS = 'src/sync/mirror/versions.ts';
const BUDGET = 'src/sync/request-budget.ts';

export const mutants: readonly Mutant[] = [
  {
    id: 1,
    rule: "the events path's connection upsert no longer spares tombstones (SQL guard)",
    file: VERSIONS,
    find: '  const live = sql<SqlBool>`${row}.deleted_at is null and (${row}.updated_at < excluded.updated_at',
    replace: '  const live = sql<SqlBool>`(${row}.updated_at < excluded.updated_at',
    tests: ['test/versions.test.ts', 'test/invariants.test.ts', 'test/races.test.ts'],
  },
  {
    id: 2,
    rule: "the cursor advances in a second transaction, after the page's writes",
    file: 'src/sync/events/apply-page.ts',
    find: `    await advanceCursor(trx, batch.nextCursor, newestCreatedAt(items));
    return plans;
  });`,
    replace: `    return plans;
  }).then(async (plans) => {
    await deps.db.transaction().execute((trx) => advanceCursor(trx, batch.nextCursor, newestCreatedAt(items)));
    return plans;
  });`,
    tests: ['test/invariants.test.ts', 'test/races.test.ts', 'test/crash.test.ts'],
  },
  {
    id: 3,
    rule: "reconciliation's planner deletes rows written after the listing began",
    file: VERSIONS,
    find: 'return stored.deleted_at === null && !stored.writtenSinceListingBegan;',
    replace: 'return stored.deleted_at === null;',
    tests: ['test/plan-reconciliation.test.ts', 'test/versions.test.ts', 'test/reconcile.test.ts'],
  },
  {
    id: 4,
    rule: "reconciliation's SQL deletes rows written after the listing began",
    file: VERSIONS,
    find: 'const written = sql<SqlBool>`deleted_at is null and synced_at <= ${listingBegan}::timestamptz`;',
    replace: 'const written = sql<SqlBool>`deleted_at is null and ${listingBegan}::text is not null`;',
    tests: ['test/versions.test.ts', 'test/reconcile.test.ts'],
  },
  {
    id: 5,
    rule: "reconciliation's planner restores a tombstone whatever its updated_at",
    file: VERSIONS,
    find: "if (stored.deleted_at) return writer === 'listing' && incoming.updated_at > stored.deleted_at;",
    replace: "if (stored.deleted_at) return writer === 'listing';",
    tests: ['test/plan-reconciliation.test.ts', 'test/versions.test.ts', 'test/reconcile.test.ts'],
  },
  {
    id: 6,
    rule: "reconciliation's upsert restores any tombstone (SQL guard)",
    file: VERSIONS,
    find: "return writer === 'event' ? live : sql<SqlBool>`(${live}) or ${row}.deleted_at < excluded.updated_at`;",
    replace: "return writer === 'event' ? live : sql<SqlBool>`(${live}) or ${row}.deleted_at is not null`;",
    tests: ['test/versions.test.ts', 'test/reconcile.test.ts'],
  },
  {
    id: 7,
    rule: 'a certificate tie no longer goes to the later write (SQL guard `<=` made `<`)',
    file: VERSIONS,
    find: 'sql<SqlBool>`connection_certificates.version_at <= excluded.version_at`',
    replace: 'sql<SqlBool>`connection_certificates.version_at < excluded.version_at`',
    tests: ['test/versions.test.ts', 'test/invariants.test.ts'],
  },
  {
    id: 8,
    rule: "a certificate tie no longer goes to the later write (the planners' `>=` made `>`)",
    file: VERSIONS,
    find: 'return !stored || versionAt >= stored.version_at;',
    replace: 'return !stored || versionAt > stored.version_at;',
    tests: ['test/versions.test.ts', 'test/plan-page.test.ts', 'test/plan-reconciliation.test.ts'],
  },
  {
    id: 9,
    rule: 'a tie of versions no longer goes to the later write (the planners take only a newer one)',
    file: VERSIONS,
    find: 'incoming.updated_at.getTime() === stored.updated_at.getTime() &&',
    replace: 'false &&',
    tests: ['test/versions.test.ts', 'test/plan-page.test.ts', 'test/plan-reconciliation.test.ts'],
  },
  {
    id: 10,
    rule: 'the database password is no longer a secret to scrub',
    file: 'src/config.ts',
    find: 'if (password) secrets.push(password, decodeURIComponent(password));',
    replace: 'if (password) secrets.push();',
    tests: ['test/config.test.ts', 'test/cli.test.ts'],
  },
  {
    id: 11,
    rule: "the events path ignores the database's verdict on its writes",
    file: 'src/sync/events/apply-page.ts',
    find: 'if (!isEmpty(refused)) {',
    replace: 'if (refused === undefined) {',
    tests: ['test/races.test.ts'],
  },
  {
    id: 12,
    rule: 'the cursor fence lets a writer commit after another moved the cursor',
    file: 'src/sync/events/cursor.ts',
    find: 'if (cursor !== expected) throw new CursorMovedError(expected, cursor);',
    replace: 'if (cursor === Symbol.for("never")) throw new CursorMovedError(expected, cursor);',
    tests: ['test/invariants.test.ts', 'test/races.test.ts'],
  },
  {
    id: 13,
    rule: 'a listing with the same content and a newer version leaves the stored version behind',
    file: 'src/sync/reconcile/plan.ts',
    find: '} else if (c.updated_at > current.updated_at) {',
    replace: '} else if (c.updated_at < current.updated_at) {',
    tests: ['test/plan-reconciliation.test.ts', 'test/reconcile.test.ts'],
  },
  {
    id: 14,
    rule: "a listing is versioned in the database's clock instead of WorkOS's",
    file: 'src/sync/reconcile/reconcile.ts',
    find: "const listedAt = listing.listedAt ?? (await fallbackListingTime(deps, 'List Connections'));",
    replace: 'const listedAt = new Date(await databaseNow(deps.db));',
    tests: ['test/clock-skew.test.ts'],
  },
  {
    id: 15,
    rule: "a reconciliation's tombstone may be older than the version it deletes",
    file: VERSIONS,
    find: 'return sql<Date>`greatest(${listedAt}::timestamptz, updated_at)`;',
    replace: 'return sql<Date>`${listedAt}::timestamptz`;',
    tests: ['test/versions.test.ts', 'test/clock-skew.test.ts'],
  },
  {
    id: 16,
    rule: "a batch's domains go in one statement, whatever Postgres's parameter limit",
    file: 'src/sync/mirror/connection-row.ts',
    find: 'for (const chunk of statementChunks([...rows.values()], 3, maxRows)) {',
    replace: 'for (const chunk of [[...rows.values()]]) {',
    tests: ['test/invariants.test.ts'],
  },
  {
    id: 17,
    rule: 'a deletion event changes a tombstone (deletion is no longer terminal for events)',
    file: VERSIONS,
    find: 'return !stored?.deleted_at;',
    replace: 'return stored !== null;',
    tests: ['test/plan-page.test.ts', 'test/versions.test.ts', 'test/invariants.test.ts'],
  },
  {
    id: 18,
    rule: 'an event id already recorded is applied again',
    file: 'src/sync/events/plan-page.ts',
    find: 'const previous = seen.get(item.id) ?? inPage.get(item.id);',
    replace: 'const previous = inPage.get(item.id);',
    tests: ['test/plan-page.test.ts', 'test/invariants.test.ts'],
  },
  {
    id: 19,
    rule: 'a lease renewal re-creates a lease row just released (an upsert, not an update)',
    file: 'src/sync/lease.ts',
    find: `  const row = await db
    .updateTable('leases')
    .set({ expires_at: sql<Date>\`now() + \${ttlMs} * interval '1 millisecond'\` })
    .where('name', '=', name)
    .where('holder', '=', holder)
    .returning('holder')
    .executeTakeFirst();
  return row !== undefined;`,
    replace: '  return acquireLease(db, name, holder, ttlMs);',
    tests: ['test/lease-keeper.test.ts'],
  },
  {
    id: 20,
    rule: "Postgres no longer ends a stopped process's abandoned transaction",
    file: 'src/db/session-limits.ts',
    find: 'idleInTransactionMs: leaseTtlMs,',
    replace: 'idleInTransactionMs: 0,',
    tests: ['test/database-sessions.test.ts', 'test/worker.test.ts'],
  },
  {
    id: 21,
    rule: 'a stop during an outage ends as a failure, not a clean stop',
    file: 'src/sync/poll.ts',
    find: `      deps.log.debug({ err: error }, 'stopping; the failed attempt is left to the next run');
      return totals;`,
    replace: '      throw error;',
    tests: ['test/worker.test.ts'],
  },
  {
    id: 22,
    rule: 'any refusal of a request with a cursor is taken for a rejected cursor, unconfirmed',
    file: 'src/workos/events-source.ts',
    find: 'throw await confirmCursorRejected(workos, query, request.after, error, phase);',
    replace: 'throw new CursorRejectedError(request.after, { cause: error });',
    tests: ['test/sync-over-http.test.ts'],
  },
  {
    id: 23,
    rule: "a new mirror's first reconciliation runs without the reconcile lease",
    file: 'src/worker/poll-job.ts',
    // poll-job.ts imports only what it calls: the unfenced reconciliation comes in with the mutant.
    find: 'if (mirrorMayBeNew && !(await reconcileUnderLease(deps, signal, false))) {',
    replace:
      "if (mirrorMayBeNew && (await (await import('./reconcile-job.ts')).reconcileCounted(deps, signal), false)) {",
    tests: ['test/worker-reconcile-lease.test.ts'],
  },
  {
    id: 24,
    rule: 'a poll error is stored with the secrets it carries',
    file: 'src/sync/poll.ts',
    find: 'error: deps.scrub(error.message) }',
    replace: 'error: error.message }',
    tests: ['test/stored-secrets.test.ts'],
  },
  {
    id: 25,
    rule: 'a database error reaches its caller unclassified (a dropped server is not waited out)',
    file: 'src/db/engine-dialect.ts',
    find: `  } catch (error) {
    throw classifyDatabaseError(error, statement);
  }`,
    replace: `  } catch (error) {
    throw error;
  }`,
    tests: ['test/database-sessions.test.ts', 'test/worker.test.ts'],
  },
  {
    id: 26,
    rule: 'a one-shot run waits forever for an onChange hook that keeps throwing',
    file: 'src/sync/transient-failures.ts',
    find: "if (error.kind === 'hook' && hookFailures >= hookAttempts) {",
    replace: "if (error.kind === 'hook' && hookFailures >= hookAttempts && hookAttempts < 0) {",
    tests: ['test/hooks.test.ts'],
  },
  {
    id: 27,
    rule: "a hook's tries are counted over the whole run, not per batch",
    file: 'src/sync/poll.ts',
    find: 'if (totals.pages > pagesBefore) failures.progressed();',
    replace: '',
    tests: ['test/hooks.test.ts'],
  },
  {
    id: 28,
    rule: 'the worker gives up on a hook that keeps throwing, as a one-shot run does',
    file: 'src/worker/poll-job.ts',
    find: 'hookAttempts: Number.POSITIVE_INFINITY,',
    replace: 'hookAttempts: undefined,',
    tests: ['test/hooks.test.ts'],
  },
  {
    id: 29,
    rule: 'a sender that sent Expect: 100-continue is told to send a body the receiver will refuse',
    file: 'src/worker/http-listener.ts',
    find: 'if (options.deferContinue)',
    replace: 'if (options.deferContinue && false)',
    tests: ['test/webhook-receiver.test.ts'],
  },
  {
    id: 30,
    rule: 'a refusal made before the body is read closes the socket at once (a reset for a sender still sending)',
    file: 'src/worker/http-listener.ts',
    find: 'socket.destroySoon = () => lingeringClose(socket);',
    replace: '',
    tests: ['test/webhook-receiver.test.ts'],
  },
  {
    id: 31,
    rule: 'a tie between an event and a listing ignores which saw WorkOS later (SQL guard): an event replayed after a listing brings back what the listing knew',
    file: VERSIONS,
    find: 'or ${row}.observed_at is null or ${row}.observed_at <= excluded.observed_at)))`;',
    replace: 'or true)))`;',
    tests: ['test/versions.test.ts', 'test/organizations.test.ts'],
  },
  {
    id: 32,
    rule: 'a tie between an event and a listing ignores which saw WorkOS later (the planners)',
    file: VERSIONS,
    find: '(stored.source === writer || stored.observed_at === null || incoming.observed_at >= stored.observed_at)',
    replace: 'true',
    tests: ['test/versions.test.ts', 'test/reconcile.test.ts'],
  },
  {
    id: 33,
    rule: "an organization's payload tombstones a domain it lacks that changed at its very time (rule 7, the planners)",
    file: VERSIONS,
    find: 'return stored.deleted_at === null && stored.updated_at < eventAt;',
    replace: 'return stored.deleted_at === null && stored.updated_at <= eventAt;',
    tests: ['test/versions.test.ts', 'test/plan-page-organizations.test.ts'],
  },
  {
    id: 34,
    rule: "an organization's payload tombstones a domain it lacks that changed at its very time (rule 7, SQL guard)",
    file: VERSIONS,
    find: 'return sql<SqlBool>`deleted_at is null and updated_at < ${eventAt}::timestamptz`;',
    replace: 'return sql<SqlBool>`deleted_at is null and updated_at <= ${eventAt}::timestamptz`;',
    tests: ['test/versions.test.ts'],
  },
  {
    id: 35,
    rule: "a listing of one organization's connections tombstones rows of other organizations (rule 5's reach)",
    file: VERSIONS,
    find: `  return organizationId === undefined
    ? written
    : sql<SqlBool>\`\${written} and organization_id = \${organizationId}\`;`,
    replace: '  return written;',
    tests: ['test/versions.test.ts', 'test/organizations.test.ts'],
  },
  {
    id: 36,
    rule: "a domain event no longer refreshes its organization's connections",
    file: 'src/sync/events/poll-once.ts',
    find: 'const refreshes = await fetchRefreshes(deps, await refreshesNeeded(deps.db, batch.flat()));',
    replace: 'const refreshes: Awaited<ReturnType<typeof fetchRefreshes>> = [];',
    tests: ['test/organizations.test.ts', 'test/hooks.test.ts'],
  },
  {
    id: 37,
    rule: 'a batch refreshes for events recorded before, and for events older than the last whole listing',
    file: 'src/sync/events/refreshes.ts',
    find: '(item) => recorded.has(item.id) || (listedAt !== null && item.created_at <= listedAt),',
    replace: '() => false,',
    tests: ['test/organizations.test.ts'],
  },
  {
    id: 38,
    rule: "a domain's verification_token is stored with its event",
    file: 'src/sync/events/parse-event.ts',
    find: 'return mayCarryVerificationToken(event) ? withoutVerificationTokens(data) : data;',
    replace: 'return data;',
    tests: ['test/organizations.test.ts', 'test/plan-page-organizations.test.ts'],
  },
  {
    id: 39,
    rule: 'a change is named after the row`s last_event_id, not the event whose write the batch kept (an older notice on a listed certificate)',
    file: 'src/sync/events/page-changes.ts',
    find: "const eventId = writers.get(rowKey(table, key)) ?? row.last_event_id ?? '';",
    replace: "const eventId = row.last_event_id ?? '';",
    tests: ['test/hooks.test.ts'],
  },
  {
    id: 40,
    rule: "an organization's deletion leaves its domains live (rule 4)",
    file: 'src/sync/events/handlers/organization.ts',
    find: 'if (deletedAt || absentDomainRemoved(stored, event.created_at)) {',
    replace: 'if (absentDomainRemoved(stored, event.created_at)) {',
    tests: ['test/plan-page-organizations.test.ts', 'test/hooks.test.ts'],
  },
  {
    id: 41,
    rule: 'a take from the request budget refills from a stale read of the row (no lock): concurrent takers over-grant',
    file: BUDGET,
    find: `          .where('name', '=', BUDGET_NAME)
          .forUpdate(),`,
    replace: `          .where('name', '=', BUDGET_NAME),`,
    tests: ['test/request-budget.test.ts'],
  },
  {
    id: 42,
    rule: "a take that waited for the budget's row moves its count back to its own start (refill counted twice)",
    file: BUDGET,
    find: 'refilled_at: sql<Date>`greatest(refilled.refilled_at, now())`,',
    replace: 'refilled_at: sql<Date>`now()`,',
    tests: ['test/request-budget.test.ts'],
  },
  {
    id: 43,
    rule: 'a take from the request budget ignores a pause',
    file: BUDGET,
    find: '.where(sql<boolean>`refilled.paused_ms <= 0 and refilled.available >= ${needed}`)',
    replace: '.where(sql<boolean>`refilled.available >= ${needed}`)',
    tests: ['test/request-budget.test.ts', 'test/request-budget-http.test.ts'],
  },
  {
    id: 44,
    rule: "a shorter 429's pause cuts the fleet's longer one short",
    file: BUDGET,
    find: 'paused_until: sql<Date>`greatest(request_budget.paused_until, excluded.paused_until)`,',
    replace: 'paused_until: sql<Date>`excluded.paused_until`,',
    tests: ['test/request-budget.test.ts'],
  },
  {
    id: 45,
    rule: 'the fleet comes back from a pause with a burst of the whole capacity (the bucket not emptied)',
    file: BUDGET,
    find: `      oc.column('name').doUpdateSet({
        tokens: 0,
`,
    replace: `      oc.column('name').doUpdateSet({
`,
    tests: ['test/request-budget.test.ts', 'test/request-budget-http.test.ts'],
  },
  {
    id: 46,
    rule: 'a 429 is not reported to the gate: the other replicas go on sending',
    file: 'src/workos/client.ts',
    find: 'if (gate && response.status === 429) {',
    replace: 'if (gate && response.status === 0) {',
    tests: ['test/request-budget-http.test.ts'],
  },
  {
    id: 47,
    rule: "an environment's handle joins another environment's rows (the join's condition left out)",
    file: 'src/db/environment-scope.ts',
    find: 'if (table === null || !join.on) return join;',
    replace: 'if (table === null || !join.on || table !== null) return join;',
    tests: ['test/environment-scope.test.ts', 'test/environments-isolation.test.ts'],
  },
  {
    id: 48,
    rule: "an `or` in a statement's own where escapes the environment's condition (no parentheses)",
    file: 'src/db/environment-scope.ts',
    find: 'let where: OperationNode | undefined = query.where ? ParensNode.create(query.where.where) : undefined;',
    replace: 'let where: OperationNode | undefined = query.where ? query.where.where : undefined;',
    tests: ['test/environment-scope.test.ts', 'test/environments-isolation.test.ts'],
  },
  {
    id: 49,
    rule: "an insert through an environment's handle is not stamped with its environment",
    file: 'src/db/environment-scope.ts',
    find: 'if (named === -1) return [...values, this.#value()];',
    replace: 'if (named === -1) return [...values, ValueNode.createImmediate(DEFAULT_ENVIRONMENT)];',
    tests: ['test/environment-scope.test.ts', 'test/environments-isolation.test.ts'],
  },
  {
    id: 50,
    rule: 'finalize goes ahead while a replica that is not a registered worker (the previous release) holds a lease',
    file: 'migrations/0007_environment_keys.ts',
    find: 'if (held.length > 0) {',
    replace: 'if (held.length < 0) {',
    tests: ['test/migrations-finalize.test.ts'],
  },
  {
    id: 51,
    rule: 'a batch renewal re-creates the leases of environments just released (an upsert, not an update)',
    file: 'src/worker/fleet/lease-renewals.ts',
    // The take has the renewal's signature: the mutant only changes which one the batch calls.
    find: "import { LEASE_BATCH_SIZE, renewLeases } from './lease-batch.ts';",
    replace: "import { acquireLeases as renewLeases, LEASE_BATCH_SIZE } from './lease-batch.ts';",
    tests: ['test/fleet-lease-renewals.test.ts'],
  },
  {
    id: 52,
    rule: 'a batch renewal that finds a lease taken over reports it renewed: the work goes on without it',
    file: 'src/worker/fleet/lease-renewals.ts',
    find: "renewed.has(environment) ? 'renewed' : 'refused'",
    replace: "'renewed'",
    tests: ['test/fleet-lease-renewals.test.ts'],
  },
  {
    id: 53,
    rule: "a renewal's answer about a holding that is over decides for the lease taken again since",
    file: 'src/worker/lease-keeper.ts',
    find: 'if (held !== this.#held || held.signal.aborted) return;',
    replace: 'if (this.#held?.signal.aborted) return;',
    tests: ['test/fleet-lease-renewals.test.ts'],
  },
  {
    id: 54,
    rule: "an idle environment's polls back off past the bound",
    file: 'src/worker/pacing.ts',
    find: 'return Math.min(longestPollPeriodMs(pace), Math.max(pace.scheduleMs, 2 * previousMs));',
    replace: 'return Math.max(pace.scheduleMs, 2 * previousMs);',
    tests: ['test/pacing.test.ts', 'test/worker-pacing.test.ts'],
  },
  {
    id: 55,
    rule: "a poll that found events leaves the environment's polls backed off",
    file: 'src/worker/pacing.ts',
    find: 'if (found === null || found > 0) return pace.scheduleMs;',
    replace: 'if (found === null) return pace.scheduleMs;',
    tests: ['test/pacing.test.ts'],
  },
  {
    id: 56,
    rule: "a webhook's nudge leaves the environment's polls backed off",
    file: 'src/worker/worker.ts',
    find: '      pacer?.nudged();\n',
    replace: '',
    tests: ['test/worker-pacing.test.ts'],
  },
  {
    id: 57,
    rule: "every environment's reconciliations fall on the schedule's fire, all at once (no offset)",
    file: 'src/worker/worker.ts',
    find: '    later(pacing.reconcileOffsetMs, () => {',
    replace: '    later(0, () => {',
    tests: ['test/worker-pacing.test.ts'],
  },
  {
    id: 58,
    rule: "a poll looking for a webhook's event queues at the request budget as a routine one does",
    file: 'src/worker/worker.ts',
    find: 'body: () => urgentWhile(() => nudges.awaiting(), pollBody),',
    replace: 'body: () => urgentWhile(() => false, pollBody),',
    tests: ['test/worker-pacing.test.ts'],
  },
  {
    id: 59,
    rule: 'an urgent request waits behind the routine ones queued before it',
    file: 'src/sync/turn-queue.ts',
    find: "return this.#waiting.find((w) => w.priority() === 'urgent') ?? this.#waiting[0];",
    replace: 'return this.#waiting[0];',
    tests: ['test/request-budget-arithmetic.test.ts'],
  },
  {
    id: 60,
    rule: "a routine take from the fleet's budget spends the urgent reserve (SQL)",
    file: 'src/sync/request-budget.ts',
    find: 'refilled.available >= ${needed}`',
    replace: 'refilled.available >= 1`',
    tests: ['test/request-budget.test.ts'],
  },
  {
    id: 61,
    rule: "a fleet's scrape reads each environment's status on its own (ten statements each, not ten in all)",
    file: 'src/worker/fleet/fleet-status.ts',
    find: '      shared ??= new Promise<void>',
    replace: '      shared = new Promise<void>',
    tests: ['test/fleet-metrics.test.ts'],
  },
  {
    id: 62,
    rule: 'a replica goes on exporting the series of an environment handed to another',
    file: 'src/worker/fleet/serve-fleet.ts',
    find: "if (direction === 'released') metrics.delete(environment);",
    replace: '',
    tests: ['test/fleet-metrics.test.ts'],
  },
  {
    id: 63,
    rule: "a poll running when a nudge came doubles the period the nudge brought back (the nudge's poll then doubles it again)",
    file: 'src/worker/pacing.ts',
    find: '    if (this.#nudged) {\n      this.#nudged = false;\n      return;\n    }\n',
    replace: '',
    tests: ['test/pacing.test.ts'],
  },
  {
    id: 64,
    rule: "a writer's transaction sends a second NOTIFY",
    file: 'src/sync/changes/report.ts',
    find: '  await sql`select pg_notify(${channel}, ${payload})`.execute(trx);\n',
    replace:
      '  await sql`select pg_notify(${channel}, ${payload})`.execute(trx);\n  await sql`select pg_notify(${channel}, ${payload} || 1)`.execute(trx);\n',
    tests: ['test/hooks-several-connections.test.ts'],
  },
  {
    id: 65,
    rule: 'WORKOS_SYNC_NOTIFY=off still announces the changes',
    file: 'src/workos-sync.ts',
    find: 'channel: config.notify ? changesChannel(config.database.schema) : null,',
    replace: 'channel: changesChannel(config.database.schema),',
    tests: ['test/hooks-several-connections.test.ts'],
  },
  {
    id: 66,
    rule: "the poll that applies a webhook's event no longer links to the delivery's span",
    file: 'src/sync/events/poll-once.ts',
    find: '        if (options.deliverySpans) linkActiveSpan(',
    replace: '        if (false as boolean) linkActiveSpan(',
    tests: ['test/tracing-webhook.test.ts'],
  },
  {
    id: 67,
    rule: "a nudge crossing to the holder by NOTIFY loses its delivery's span",
    file: 'src/worker/webhooks/nudge-bus.ts',
    find: '    ...(nudge.span ? { traceparent: traceparent(nudge.span) } : {}),\n',
    replace: '',
    tests: ['test/tracing-webhook.test.ts'],
  },
  {
    id: 68,
    rule: 'the command line exits without flushing the spans still buffered',
    file: 'src/cli.ts',
    find: '    await telemetry?.shutdown();',
    replace: '    void telemetry;',
    tests: ['test/tracing-cli.test.ts'],
  },
  {
    id: 69,
    rule: 'a line workos-sync logs inside a span (through the application`s logger or its own) no longer names the trace',
    file: 'src/logger.ts',
    find: 'log: (object) => ({ ...traceFields(), ...(clean(object, 0) as Record<string, unknown>) }),',
    replace: 'log: (object) => clean(object, 0) as Record<string, unknown>,',
    tests: ['test/tracing-webhook.test.ts', 'test/tracing-cli.test.ts'],
  },
  {
    id: 70,
    rule: "a failed span carries the error's message (which may quote a URL, a row or a secret)",
    file: 'src/tracing.ts',
    find: "  const type = error instanceof Error ? error.name : 'error';",
    replace: "  const type = error instanceof Error ? error.message : 'error';",
    tests: ['test/tracing.test.ts'],
  },
  {
    id: 71,
    rule: "the library's polls and backfills are handed a scrubber that does nothing (a hook's error stores the key)",
    file: 'src/workos-sync.ts',
    find: '      log,\n      scrub,\n      reporting,\n    };\n  };',
    replace: '      log,\n      scrub: (text: string) => text,\n      reporting,\n    };\n  };',
    tests: ['test/scrubbed-everywhere.test.ts'],
  },
  {
    id: 72,
    rule: "the library's reconciliations are handed a scrubber that does nothing (reconciliation_runs.error stores the key)",
    file: 'src/workos-sync.ts',
    find: '              log,\n              scrub,\n              reporting,\n            },\n            signal ?',
    replace:
      '              log,\n              scrub: (text: string) => text,\n              reporting,\n            },\n            signal ?',
    tests: ['test/scrubbed-everywhere.test.ts'],
  },
  {
    id: 73,
    rule: "the session bounds are applied on the mirror's own pool only, not on the application's pool or Kysely",
    file: 'src/db/connect.ts',
    find: 'new EngineDialect(dialect, { limits: settings.sessionLimits, owned })',
    replace: 'new EngineDialect(dialect, { limits: owned ? settings.sessionLimits : null, owned })',
    tests: ['test/session-bounds-everywhere.test.ts'],
  },
  {
    id: 74,
    rule: 'a protocol violation (08P01: a statement over the parameter limit) is waited out as the database being away',
    file: 'src/db/errors.ts',
    find: "  if (code === '08P01' && !POOLER_UNAVAILABLE.test(error.message))",
    replace: '  if (false as boolean)',
    tests: ['test/database-sessions.test.ts'],
  },
  {
    id: 75,
    rule: "a poll's bookkeeping that cannot be written is swallowed without a line",
    file: 'src/sync/poll-record.ts',
    find: '        if (!failing)\n          log.warn(',
    replace: '        if (false as boolean)\n          log.warn(',
    tests: ['test/poll-record.test.ts'],
  },
  {
    id: 76,
    rule: "the worker's polls each start with a bookkeeping state of their own (a failing database says so at every poll)",
    file: 'src/worker/poll-job.ts',
    find: '        recorder,\n',
    replace: '',
    tests: ['test/poll-record.test.ts'],
  },
  {
    id: 77,
    rule: "a reconciliation outside the worker (the library's, the CLI's) runs without the reconcile lease",
    file: 'src/library/under-lease.ts',
    find: '  const held = await lease.ensureWaiting(options.wait, options.signal, async () =>',
    replace:
      '  const held = new AbortController().signal ?? await lease.ensureWaiting(options.wait, options.signal, async () =>',
    tests: ['test/reconcile-lease.test.ts'],
  },
  {
    id: 78,
    rule: 'a run a killed process left `running` stays so for ever (no sweep under the lease)',
    file: 'src/workos-sync.ts',
    find: '            await sweepAbandoned({ db, log });\n',
    replace: '',
    tests: ['test/reconcile-lease.test.ts'],
  },
  {
    id: 79,
    rule: '/metrics answers whoever asks, credentials configured or not',
    file: 'src/worker/http-server.ts',
    find: '  if (authorized && !authorized(request.headers.authorization)) {',
    replace: '  if (false as boolean) {',
    tests: ['test/http-server.test.ts', 'test/metrics-auth.test.ts'],
  },
  {
    id: 80,
    rule: "the metrics server's password is not a secret to scrub",
    file: 'src/config.ts',
    find: '  if (basic)\n',
    replace: '  if (false as boolean)\n',
    tests: ['test/config.test.ts'],
  },
  {
    id: 81,
    rule: "pruning dates an event by when this mirror received it, not by WorkOS's created_at",
    file: 'src/sync/events/retention.ts',
    find: "        eb('e.created_at', '<', cutoff),\n",
    replace: "        eb('e.received_at', '<', cutoff),\n",
    tests: ['test/prune.test.ts'],
  },
  {
    id: 82,
    rule: 'pruning deletes quarantined events unasked',
    file: 'src/sync/events/retention.ts',
    find: "    .$if(!retention.quarantined, (qb) => qb.where('e.outcome', '<>', 'quarantined'))\n",
    replace: '',
    tests: ['test/prune.test.ts'],
  },
  {
    id: 83,
    rule: 'pruning deletes the event the cursor points at',
    file: 'src/sync/events/retention.ts',
    find: "          eb.exists(eb.selectFrom('sync_state as s').select('s.stream').whereRef('s.cursor', '=', 'e.id')),\n",
    replace: '',
    tests: ['test/prune.test.ts'],
  },
  {
    id: 84,
    rule: "pruning deletes events a mirror row's last_event_id points at",
    file: 'src/sync/events/retention.ts',
    find: '          ...POINTING.map((table) =>',
    replace: '          ...[].map((table: (typeof POINTING)[number]) =>',
    tests: ['test/prune.test.ts'],
  },
  {
    id: 85,
    rule: 'a prune waits on an event row another session holds (no skip locked)',
    file: 'src/sync/events/retention.ts',
    find: '    .forUpdate()\n    .skipLocked();',
    replace: '    .forUpdate();',
    tests: ['test/prune.test.ts'],
  },
  {
    id: 86,
    rule: "the retention may be set below WorkOS's retention plus the margin",
    file: 'src/config/parsers.ts',
    find: '    if (!Number.isInteger(value) || value < floor || value > MAX_RETENTION_DAYS) throw bad(name, value);',
    replace:
      '    if (!Number.isInteger(value) || value < 1 || value > MAX_RETENTION_DAYS) throw bad(name, value);',
    tests: ['test/config-parsers.test.ts', 'test/prune-cli.test.ts'],
  },
  {
    id: 87,
    rule: "the worker's prune runs without the prune lease",
    file: 'src/worker/prune-job.ts',
    find: '    if (!held) {\n',
    replace: '    if (false as boolean) {\n',
    tests: ['test/prune-cli.test.ts'],
  },
];
