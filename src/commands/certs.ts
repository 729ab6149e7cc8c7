/**
 * `certs`: every live connection's SAML certificates, most urgent first. With
 * `--fail-if-expiring` it exits 3 when any is inside the window, for cron-based alerting.
 */
import type { Config } from '../config.ts';
import { ConfigError } from '../errors.ts';
import { openRuntime } from '../runtime.ts';
import { formatRows } from './sql.ts';

export const EXIT_CERTIFICATES_EXPIRING = 3;

export interface CertsOptions {
  readonly expiringWithin?: string | undefined;
  readonly json: boolean;
  readonly failIfExpiring: boolean;
  readonly migrate: boolean;
}

export async function certsCommand(config: Config, options: CertsOptions): Promise<number> {
  const withinDays = options.expiringWithin === undefined ? undefined : parseDays(options.expiringWithin);
  if (options.failIfExpiring && withinDays === undefined) {
    throw new ConfigError('--fail-if-expiring needs --expiring-within (for example 30d)');
  }
  const runtime = await openRuntime(config, { migrate: options.migrate });
  try {
    let query = runtime.database.db
      .selectFrom('expiring_certificates')
      .select([
        'organization_id',
        'connection_id',
        'connection_name',
        'certificate_type',
        'expiry_date',
        'days_left',
        'is_expired',
        'renewed_at',
        'renewal_required_at',
        'source',
      ])
      .orderBy('expiry_date')
      .orderBy('connection_id');
    if (withinDays !== undefined) query = query.where('days_left', '<', withinDays);
    const rows = await query.execute();
    if (options.json) process.stdout.write(`${JSON.stringify(rows, null, 2)}\n`);
    else {
      const scope =
        withinDays === undefined ? 'all certificates' : `certificates expiring within ${withinDays} days`;
      process.stdout.write(`${scope}, most urgent first\n${formatRows(rows)}`);
    }
    return options.failIfExpiring && rows.length > 0 ? EXIT_CERTIFICATES_EXPIRING : 0;
  } finally {
    await runtime.close();
  }
}

/** `30d`, `12h` (rounded up to whole days) or a plain number of days. */
export function parseDays(value: string): number {
  const match = /^(\d+)\s*([dh]?)$/i.exec(value.trim());
  if (!match) throw new ConfigError(`--expiring-within must look like 30d, 12h or 30, got "${value}"`);
  const n = Number(match[1]);
  return match[2]?.toLowerCase() === 'h' ? Math.ceil(n / 24) : n;
}
