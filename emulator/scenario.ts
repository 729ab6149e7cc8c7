/**
 * Seeded, realistic connection histories for tests, the benchmark and the demo.
 *
 * The history has exactly `events` connection events, one per step, spread evenly over
 * [start, end]. Between steps, at the midpoint, happen the things WorkOS emits nothing for:
 * connections being created, renamed, given other domains, or left as drafts.
 * Same seed and same model seed and clock ⇒ the same log, byte for byte.
 *
 * SAML connections are created with signing certificates (`scenario-certs.ts`; silent ones
 * without), and ResponseSigning events carry day-aligned expiry dates, which the model copies into
 * the listed certificate: the listing agrees with the newest ResponseSigning event of each.
 */
import type { CertificateType } from '../src/workos/wire.ts';
import type { WorkosModel } from './model.ts';
import { isSamlType } from './payloads.ts';
import { Random } from './random.ts';
import { ScenarioCast } from './scenario-cast.ts';
import { nextMidnight, ScenarioCertificates } from './scenario-certs.ts';

export interface ScenarioOptions {
  seed: number;
  /** Exactly this many events are appended. */
  events: number;
  /** Connections to create (default events / 6, at least 3); more appear if deletions exhaust them. */
  connections?: number;
  /** Spread connections over this many organisations (default: 1–3 connections per organisation). */
  organizations?: number;
  /** Default: model clock − 25 days. */
  start?: Date;
  /** Default: model clock − 1 minute. */
  end?: Date;
  /**
   * Sets the model's clock offset first (`WorkosModel.setClockOffset`), so the default window and
   * the certificates' expiries are placed relative to a WorkOS running that far ahead (positive) or
   * behind (negative) real time. Like building the model with `clockOffsetMs`.
   */
  clockOffsetMs?: number;
}

export interface ScenarioSummary {
  /** Connections created (live + deleted + silent ones). */
  connections: number;
  events: number;
  byType: Record<string, number>;
}

const DAY_MS = 86_400_000;

const CERTIFICATE_TYPES: ReadonlyArray<readonly [CertificateType, number]> = [
  ['ResponseSigning', 5],
  ['RequestSigning', 2],
  ['ResponseEncryption', 2],
];

/** Days before expiry at which renewal notices go out; negatives are already expired. */
const NOTICE_DAYS = [60, 30, 14, 7, 3, 1, 0, -2];

export function generateScenario(model: WorkosModel, options: ScenarioOptions): ScenarioSummary {
  const total = options.events;
  if (!Number.isInteger(total) || total < 0)
    throw new Error('generateScenario: events must be an integer >= 0');
  if (options.clockOffsetMs !== undefined) model.setClockOffset(options.clockOffsetMs);
  const now = model.clock().getTime();
  const start = options.start?.getTime() ?? now - 25 * DAY_MS;
  const end = options.end?.getTime() ?? now - 60_000;
  if (end < start) throw new Error('generateScenario: end is before start');

  const random = new Random(options.seed);
  const certificates = new ScenarioCertificates(options.seed, new Date(now));
  const cast = new ScenarioCast(model, random, options.organizations, certificates);
  const planned = options.connections ?? Math.max(3, Math.ceil(total / 6));
  const gap = (end - start) / Math.max(1, total);
  const byType: Record<string, number> = {};
  const count = (type: string) => {
    byType[type] = (byType[type] ?? 0) + 1;
  };

  let created = 0;
  for (let step = 0; step < total; step++) {
    const eventAt = new Date(Math.floor(start + (step + 0.5) * gap));
    const quietAt = new Date(Math.floor(start + step * gap));
    // Creations planned for this step, then edits that WorkOS emits no event for.
    while (created < planned && Math.floor((created * total) / planned) <= step) {
      cast.create(quietAt);
      created++;
    }
    if (!cast.hasEventful()) cast.create(quietAt, { eventful: true });
    cast.quietEdits(quietAt);

    count(emitOne(model, random, cast, eventAt));
  }
  // With no events (or rounding), the rest of the planned connections still exist.
  while (created < planned) {
    cast.create(new Date(start));
    created++;
  }
  return { connections: cast.createdCount, events: total, byType };
}

/**
 * A ResponseSigning expiry becomes the listed certificate's `notAfter`: the first UTC midnight
 * after `at + days` (still `days` whole days away). The other types keep `expiry` as drawn.
 */
function expiryOf(type: CertificateType, expiry: number, at: Date, days: number): Date {
  return new Date(type === 'ResponseSigning' ? nextMidnight(at.getTime() + days * DAY_MS) : expiry);
}

/** Emits exactly one event for some connection and returns its type. */
function emitOne(model: WorkosModel, random: Random, cast: ScenarioCast, at: Date): string {
  const fresh = cast.peekFresh();
  if (fresh !== undefined && (!cast.hasActivated() || random.chance(0.5))) {
    cast.takeFresh();
    if (random.chance(0.05) && cast.hasActivated()) {
      cast.forget(fresh);
      return model.deleteConnection(fresh, at, { withDomains: random.chance(0.7) }).event;
    }
    cast.markActivated(fresh);
    return model.activate(fresh, at).event;
  }

  const id = cast.pickActivated();
  const connection = cast.describe(id);
  const canDelete = cast.activatedCount() > 3;
  const action = random.weighted<'flap' | 'renew' | 'require' | 'delete'>(
    isSamlType(connection.type)
      ? [
          ['flap', 45],
          ['require', 22],
          ['renew', 22],
          ['delete', canDelete ? 3 : 0],
        ]
      : [
          ['flap', 92],
          ['delete', canDelete ? 4 : 0],
        ],
  );
  switch (action) {
    case 'flap':
      return connection.state === 'active' ? model.deactivate(id, at).event : model.activate(id, at).event;
    case 'require': {
      const days = random.pick(NOTICE_DAYS);
      const expiry = at.getTime() + days * DAY_MS + random.int(0, DAY_MS - 1);
      const type = random.weighted(CERTIFICATE_TYPES);
      return model.requireCertificateRenewal(id, type, expiryOf(type, expiry, at, days), at).event;
    }
    case 'renew': {
      const days = 365 + random.int(0, 30);
      const type = random.weighted(CERTIFICATE_TYPES);
      // A renewed ResponseSigning certificate runs a year (fewer distinct expiries to render).
      const expiry = expiryOf(type, at.getTime() + days * DAY_MS, at, 365);
      return model.renewCertificate(id, type, expiry, at).event;
    }
    case 'delete':
      cast.forget(id);
      return model.deleteConnection(id, at, { withDomains: random.chance(0.7) }).event;
  }
}
