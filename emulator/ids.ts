/**
 * ULID-shaped identifiers (`event_01HXYZ…`: 10 characters of millisecond timestamp, 16 of
 * "randomness", Crockford base32), as WorkOS issues them. Ours are deterministic: the randomness is
 * a seeded prefix plus a monotonic counter, so a seed and a clock reproduce the same ids, and ids
 * made in one millisecond still differ. Consumers must treat ids as opaque anyway.
 *
 * WorkOS's ids are unique across all its environments, and a mirror of several environments relies
 * on it; two models fed the same seed and clock would otherwise mint the same ids. So a generator
 * of a named environment (`environmentTag`) puts the environment's tag where the seeded prefix and
 * the counter's top three digits go: 10 digits of time, 9 of tag, 7 of counter. The counter's top
 * three digits are `000` in the default environment's layout and the tag's last three never are,
 * so a named environment never mints a default environment's id, and two named environments with
 * different tags never mint each other's. The default environment (no name, or `default`) keeps
 * exactly the ids it always had.
 */
import { createHash } from 'node:crypto';
import { Random } from './random.ts';

const CROCKFORD = '0123456789ABCDEFGHJKMNPQRSTVWXYZ';

/** The environment whose ids carry no tag: every model's, unless it is given another name. */
export const DEFAULT_ENVIRONMENT = 'default';

/** 7 counter digits: ids a generator may mint before its counter would reach the tag's digits. */
const MAX_COUNTER = 32 ** 7 - 1;

/** Encodes a non-negative integer (< 2^53) as exactly `length` base32 digits. */
function encodeBase32(value: number, length: number): string {
  let out = '';
  let rest = Math.max(0, Math.floor(value));
  for (let i = 0; i < length; i++) {
    out = CROCKFORD[rest % 32] + out;
    rest = Math.floor(rest / 32);
  }
  return out;
}

/**
 * The 9 base32 digits a named environment's ids carry, from a SHA-256 of its name (45 bits: two
 * names share a tag about once in 10^13 pairs, and the emulator refuses such a pair outright). The
 * last three digits are never `000`. Undefined for the default environment.
 */
export function environmentTag(environment: string | undefined): string | undefined {
  if (environment === undefined || environment === DEFAULT_ENVIRONMENT) return undefined;
  const digest = createHash('sha256').update(environment).digest();
  const high = digest.readUIntBE(0, 4) % 32 ** 6;
  const low = (digest.readUInt16BE(4) % (32 ** 3 - 1)) + 1;
  return encodeBase32(high, 6) + encodeBase32(low, 3);
}

export class IdGenerator {
  private readonly random: Random;
  private counter = 0;
  /** The environment's tag; undefined: the default environment's layout. */
  readonly tag: string | undefined;

  constructor(seed: number, environment?: string) {
    this.random = new Random(seed ^ 0x1d5);
    this.tag = environmentTag(environment);
  }

  /** A 26-character ULID-like body for a moment in time. */
  ulid(at: Date): string {
    this.counter += 1;
    if (this.counter > MAX_COUNTER) throw new RangeError(`IdGenerator: more than ${MAX_COUNTER} ids`);
    const time = encodeBase32(at.getTime(), 10);
    if (this.tag !== undefined) return `${time}${this.tag}${encodeBase32(this.counter, 7)}`;
    const noise = encodeBase32(this.random.int(0, 32 ** 6 - 1), 6);
    return `${time}${noise}${encodeBase32(this.counter, 10)}`;
  }

  /** `prefix_` + ULID, e.g. `conn_01…`, `org_domain_01…`. */
  next(prefix: string, at: Date): string {
    return `${prefix}_${this.ulid(at)}`;
  }
}
