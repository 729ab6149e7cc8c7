/**
 * The SAML signing certificates of a generated scenario: which new connections get one, when it
 * expires and whose name it bears, and the day-aligned expiry dates of ResponseSigning events.
 *
 * Certificates draw from their own seeded stream, so adding them left every other choice of the
 * scenario (ids, names, events, their order) as it was. Expiry dates fall on UTC midnights and
 * subjects come from a small set, so a scenario of 50,000 connections shares a few hundred
 * distinct (subject, expiry) pairs and the emulator renders each PEM once.
 */
import type { ConnectionType } from './payloads.ts';
import { isSamlType } from './payloads.ts';
import { Random } from './random.ts';
import type { SigningCertificateInput } from './signing-certs.ts';

const DAY_MS = 86_400_000;

/**
 * Azure's certificates bear its usual name; every other IdP's share one. Each extra subject
 * multiplies the distinct (subject, expiry) pairs, and a PEM costs milliseconds to render.
 */
function subjectOf(type: ConnectionType): string {
  return type.startsWith('Azure') ? 'Microsoft Azure Federated SSO Certificate' : 'saml-signing.idp.example';
}

/** Midnight UTC at or before `ms`. */
const dayStart = (ms: number) => Math.floor(ms / DAY_MS) * DAY_MS;

/**
 * The first UTC midnight strictly after `ms`. An event-time expiry `at + n days` becomes this, so a
 * notice still counts `n` whole days to expiry and one for `n ≥ 0` is not yet expired.
 */
export const nextMidnight = (ms: number) => dayStart(ms) + DAY_MS;

export class ScenarioCertificates {
  private readonly random: Random;
  private readonly today: number;

  constructor(seed: number, now: Date) {
    this.random = new Random(seed ^ 0x51c3_e7a1);
    this.today = dayStart(now.getTime());
  }

  /**
   * A new connection's certificate. Silent SAML connections (drafts that never act) have none yet;
   * the rest expire at a UTC midnight between 30 days before and ~400 days after the model's
   * clock: about 4% already expired and 16% within 60 days (any day: the days certificate notices
   * land on anyway), the rest 61–397 days ahead every other week (like batch rotations; it keeps
   * the distinct expiries, and so the PEMs to render, few).
   */
  forNewConnection(type: ConnectionType, silent: boolean): SigningCertificateInput {
    if (!isSamlType(type) || silent) return null;
    const roll = this.random.float();
    const days =
      roll < 0.04
        ? this.random.int(-30, 0)
        : roll < 0.2
          ? this.random.int(1, 60)
          : 61 + 14 * this.random.int(0, 24);
    return { notAfter: new Date(this.today + days * DAY_MS), subject: subjectOf(type) };
  }
}
