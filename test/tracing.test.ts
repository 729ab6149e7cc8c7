/**
 * The spans the sync makes, through `@opentelemetry/api` alone, seen by a real SDK's in-memory
 * exporter registered as an application would (a tracer provider and an async-hooks context
 * manager): a poll with events is one `workos_sync.poll` span whose children are its batches'
 * `workos_sync.batch` spans (the cursor before and after, the events' ids, what each became), each
 * with its hooks' `workos_sync.hook` spans inside; a failing hook's span and its batch's say so by
 * the error's class only. No attribute carries a payload or a secret. Real Postgres, the emulator
 * over HTTP.
 */
import { context, trace } from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import {
  InMemorySpanExporter,
  type ReadableSpan,
  SimpleSpanProcessor,
  TracerProvider,
} from '@opentelemetry/sdk-trace';
import { afterAll, beforeAll, beforeEach, expect, it } from 'vitest';
import { generateScenario, WorkosModel } from '../emulator/index.ts';
import { poll } from '../src/sync/poll.ts';
import { FAST_BACKOFF, type SyncHarness, startHarness } from './support/sync.ts';

const exporter = new InMemorySpanExporter();
const contextManager = new AsyncLocalStorageContextManager();
// The SDK's simple processor exports a span a microtask after it ends: read after a flush.
const provider = new TracerProvider({ spanProcessors: [new SimpleSpanProcessor({ exporter })] });
let h: SyncHarness;

beforeAll(async () => {
  context.setGlobalContextManager(contextManager.enable());
  trace.setGlobalTracerProvider(provider);
  const model = new WorkosModel({ seed: 61 });
  generateScenario(model, { seed: 61, events: 30 });
  h = await startHarness({ model });
});
afterAll(async () => {
  trace.disable();
  context.disable();
  await h.close();
});
beforeEach(() => exporter.reset());

const parentOf = (span: ReadableSpan) => span.parentSpanContext?.spanId;
const named = (name: string) => exporter.getFinishedSpans().filter((s) => s.name === name);

it('a poll with events: the poll, its batches inside it, each batch`s hooks inside the batch', async () => {
  const hookCalls: number[] = [];
  const totals = await poll(
    {
      ...h.deps(),
      reporting: {
        hooks: () => [
          async (_trx, changes) => {
            hookCalls.push(changes.length);
          },
        ],
        channel: null,
      },
    },
    { backoff: FAST_BACKOFF },
  );
  expect(totals.events).toBe(h.emulator.model.events().length);
  await provider.forceFlush();

  const [pollSpan, ...others] = named('workos_sync.poll');
  expect(others).toEqual([]);
  expect(pollSpan!.attributes).toMatchObject({
    'workos_sync.environment': 'default',
    'workos_sync.events': totals.events,
    'workos_sync.events.applied': totals.applied,
    'workos_sync.caught_up': true,
    'workos_sync.cursor.after': h.emulator.model.events().at(-1)!.id,
  });
  const batches = named('workos_sync.batch');
  expect(batches.length).toBeGreaterThan(0);
  for (const batch of batches) expect(parentOf(batch)).toBe(pollSpan!.spanContext().spanId);
  // Every event in exactly one batch, in order, and each batch's counts add up.
  expect(batches.flatMap((b) => b.attributes['workos_sync.event_ids'] as string[])).toEqual(
    h.emulator.model.events().map((e) => e.id),
  );
  expect(batches.reduce((n, b) => n + Number(b.attributes['workos_sync.events.applied']), 0)).toBe(
    totals.applied,
  );
  expect(batches.at(-1)!.attributes['workos_sync.cursor.after']).toBe(h.emulator.model.events().at(-1)!.id);
  for (const [i, batch] of batches.entries())
    if (i > 0)
      expect(batch.attributes['workos_sync.cursor.before']).toBe(
        batches[i - 1]!.attributes['workos_sync.cursor.after'],
      );

  const hooks = named('workos_sync.hook');
  expect(hooks.map((s) => s.attributes['workos_sync.changes'])).toEqual(hookCalls);
  const batchIds = new Set(batches.map((b) => b.spanContext().spanId));
  for (const hook of hooks) expect(batchIds.has(parentOf(hook)!)).toBe(true);

  // Counts, ids, cursors and the environment: no payload, no key.
  const text = JSON.stringify(exporter.getFinishedSpans().map((s) => s.attributes));
  expect(text).not.toContain('sk_test');
  expect(text).not.toContain('"data"');
  expect(text).not.toContain('@');
});

it('a hook that throws: its span and its batch`s are errors, by the error`s class only', async () => {
  h.emulator.model.deactivate(
    String(h.emulator.model.liveConnections().find((c) => c.state === 'active')!.id),
  );
  await expect(
    poll(
      {
        ...h.deps(),
        reporting: {
          hooks: () => [
            () => {
              throw new TypeError('secret-ish detail from the application');
            },
          ],
          channel: null,
        },
      },
      { backoff: FAST_BACKOFF, hookAttempts: 1 },
    ),
  ).rejects.toThrow('an onChange hook failed');
  await provider.forceFlush();
  const [hook] = named('workos_sync.hook');
  expect(hook!.status).toEqual({ code: 2, message: 'TypeError' });
  const [batch] = named('workos_sync.batch');
  expect(batch!.status).toEqual({ code: 2, message: 'RetryableError' });
  expect(parentOf(hook!)).toBe(batch!.spanContext().spanId);
  expect(named('workos_sync.poll')[0]!.status.code).toBe(2);
  expect(
    JSON.stringify(exporter.getFinishedSpans().map((s) => [s.attributes, s.status, s.events])),
  ).not.toContain('secret-ish');
});
