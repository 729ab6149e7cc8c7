/**
 * ULID-shaped identifiers (`event_01HXYZ…`: 10 characters of millisecond timestamp, 16 of
 * "randomness", Crockford base32), as WorkOS issues them. Ours are deterministic: the randomness is
 * a seeded prefix plus a monotonic counter, so a seed and a clock reproduce the same ids, and ids
 * made in one millisecond still differ. Consumers must treat ids as opaque anyway.
 */
import { Random } from './random.ts';

const CROCKFORD = '0123456789ABCDEFGHJKMNPQRSTVWXYZ';

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

export class IdGenerator {
  private readonly random: Random;
  private counter = 0;

  constructor(seed: number) {
    this.random = new Random(seed ^ 0x1d5);
  }

  /** A 26-character ULID-like body for a moment in time. */
  ulid(at: Date): string {
    this.counter += 1;
    const time = encodeBase32(at.getTime(), 10);
    const noise = encodeBase32(this.random.int(0, 32 ** 6 - 1), 6);
    return `${time}${noise}${encodeBase32(this.counter, 10)}`;
  }

  /** `prefix_` + ULID, e.g. `conn_01…`, `org_domain_01…`. */
  next(prefix: string, at: Date): string {
    return `${prefix}_${this.ulid(at)}`;
  }
}
