/**
 * The import picture (docs/contributing.md): every module of src/, emulator/ and migrations/
 * imports only from its own layer and the layers its row lists, so no arrow runs back up. Pure:
 * it reads the sources' import lines.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { posix } from 'node:path';
import { describe, expect, it } from 'vitest';

interface Layer {
  readonly name: string;
  readonly holds: RegExp;
  /** The layers below it that it may import from (its own is always allowed). */
  readonly imports: readonly string[];
}

const FOUNDATIONS = ['foundations'];
const BASE = [...FOUNDATIONS, 'db', 'workos'];
const SYNC = [...BASE, 'mirror', 'changes', 'reconcile', 'events', 'run'];

/** Bottom to top; the first whose pattern matches holds a file. */
const LAYERS: readonly Layer[] = [
  { name: 'foundations', holds: /^src\/(time|errors|logger|version|heap-policy|tracing)\.ts$/, imports: [] },
  // The migrator runs the migrations: they are data to it.
  { name: 'db', holds: /^src\/db\//, imports: [...FOUNDATIONS, 'migrations'] },
  { name: 'workos', holds: /^src\/workos\//, imports: FOUNDATIONS },
  { name: 'mirror', holds: /^src\/sync\/mirror\//, imports: BASE },
  { name: 'changes', holds: /^src\/sync\/changes\//, imports: [...BASE, 'mirror'] },
  { name: 'reconcile', holds: /^src\/sync\/reconcile\//, imports: [...BASE, 'mirror', 'changes'] },
  // The events path reaches into reconcile/ only through EVENTS_FROM_RECONCILE (below).
  { name: 'events', holds: /^src\/sync\/events\//, imports: [...BASE, 'mirror', 'changes'] },
  { name: 'run', holds: /^src\/sync\/[^/]+\.ts$/, imports: SYNC.filter((l) => l !== 'run') },
  { name: 'worker', holds: /^src\/worker\//, imports: SYNC },
  {
    name: 'app',
    holds: /^src\/(workos-sync|index|config|cli)\.ts$|^src\/(commands|config|library)\//,
    imports: [...SYNC, 'worker', 'emulator'],
  },
  // The emulator speaks WorkOS's wire format and nothing else of the sync.
  { name: 'emulator', holds: /^emulator\//, imports: [] },
  // Frozen in time: a migration imports nothing from src/.
  { name: 'migrations', holds: /^migrations\//, imports: [] },
];

/** A domain event's effect is a listing of its organization's connections (docs/how-it-works.md). */
const EVENTS_FROM_RECONCILE = ['src/sync/reconcile/organization-refresh.ts', 'src/sync/reconcile/runs.ts'];
const EMULATOR_FROM_SRC = ['src/workos/wire.ts'];

const root = new URL('../', import.meta.url).pathname;

function modules(): string[] {
  return ['src', 'emulator', 'migrations'].flatMap((dir) =>
    readdirSync(`${root}${dir}`, { recursive: true, encoding: 'utf8' })
      .filter((f) => f.endsWith('.ts'))
      .map((f) => `${dir}/${f}`),
  );
}

function importsOf(file: string): string[] {
  const text = readFileSync(`${root}${file}`, 'utf8');
  const specifiers = [...text.matchAll(/(?:from|import)\s*\(?\s*'(\.{1,2}\/[^']+)'/g)].map((m) => m[1]!);
  return specifiers.map((s) => posix.normalize(posix.join(posix.dirname(file), s)));
}

function layerOf(file: string): Layer | undefined {
  return LAYERS.find((layer) => layer.holds.test(file));
}

/** Why `from` may not import `to`; null when it may. */
function violation(from: string, to: string): string | null {
  const a = layerOf(from);
  const b = layerOf(to);
  if (!a || !b) return `${!a ? from : to} belongs to no layer`;
  if (a === b) return null;
  if (a.imports.includes(b.name)) return null;
  if (a.name === 'events' && EVENTS_FROM_RECONCILE.includes(to)) return null;
  if (a.name === 'emulator' && EMULATOR_FROM_SRC.includes(to)) return null;
  return `${a.name} may not import ${b.name}`;
}

describe('the import picture', () => {
  it('every module belongs to a layer', () => {
    expect(modules().filter((file) => !layerOf(file))).toEqual([]);
  });

  it('no import runs back up (or sideways into a layer not listed)', () => {
    const wrong = modules().flatMap((file) =>
      importsOf(file).flatMap((to) => {
        const why = violation(file, to);
        return why ? [`${file} → ${to}: ${why}`] : [];
      }),
    );
    expect(wrong).toEqual([]);
  });

  it('only src/config.ts reads the process`s environment (a library entry point never does)', () => {
    const readers = modules().filter((file) => /process\.env\b/.test(readFileSync(`${root}${file}`, 'utf8')));
    expect(readers).toEqual(['src/config.ts']);
  });

  it.each([
    ['src/sync/mirror/versions.ts', 'src/db/clock.ts', null],
    ['src/db/connect.ts', 'src/config.ts', 'db may not import app'],
    ['src/sync/changes/report.ts', 'src/sync/events/plan-page.ts', 'changes may not import events'],
    ['src/sync/reconcile/reconcile.ts', 'src/sync/events/parse-event.ts', 'reconcile may not import events'],
    ['src/sync/events/apply-page.ts', 'src/sync/reconcile/organization-refresh.ts', null],
    ['src/sync/events/apply-page.ts', 'src/sync/reconcile/store.ts', 'events may not import reconcile'],
    ['src/sync/events/poll-once.ts', 'src/sync/poll.ts', 'events may not import run'],
    ['src/sync/poll.ts', 'src/worker/worker.ts', 'run may not import worker'],
    ['emulator/routes.ts', 'src/workos/wire.ts', null],
    ['emulator/routes.ts', 'src/logger.ts', 'emulator may not import foundations'],
    ['src/worker/worker.ts', 'emulator/index.ts', 'worker may not import emulator'],
    ['migrations/0001_init.ts', 'src/db/tables.ts', 'migrations may not import db'],
  ])('%s → %s: %s', (from, to, expected) => {
    expect(violation(from, to)).toBe(expected);
  });
});
