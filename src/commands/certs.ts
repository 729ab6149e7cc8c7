/**
 * `certs`: every live connection's SAML certificates, most urgent first. With
 * `--fail-if-expiring` it exits 3 when any is inside the window, for cron-based alerting.
 */
import type { Config } from '../config.ts';
import { ConfigError } from '../errors.ts';
import { parseDays } from '../sync/certificates.ts';
import { openEnvironment } from './open.ts';
import { formatRows } from './sql.ts';

export const EXIT_CERTIFICATES_EXPIRING = 3;

export interface CertsOptions {
  readonly expiringWithin?: string | undefined;
  readonly json: boolean;
  readonly failIfExpiring: boolean;
  readonly migrate: boolean;
  /** `--environment`: needed when the environments file declares several. */
  readonly environment?: string | undefined;
}

export async function certsCommand(config: Config, options: CertsOptions): Promise<number> {
  const withinDays = options.expiringWithin === undefined ? undefined : parseDays(options.expiringWithin);
  if (withinDays === null)
    throw new ConfigError(`--expiring-within must look like 30d, 12h or 30, got "${options.expiringWithin}"`);
  if (options.failIfExpiring && withinDays === undefined) {
    throw new ConfigError('--fail-if-expiring needs --expiring-within (for example 30d)');
  }
  const { sync, environment } = await openEnvironment(config, {
    migrate: options.migrate,
    environment: options.environment,
  });
  try {
    const rows = await environment.certificates(withinDays === undefined ? {} : { within: withinDays });
    if (options.json) process.stdout.write(`${JSON.stringify(rows, null, 2)}\n`);
    else {
      const scope =
        withinDays === undefined ? 'all certificates' : `certificates expiring within ${withinDays} days`;
      process.stdout.write(`${scope}, most urgent first\n${formatRows(rows)}`);
    }
    return options.failIfExpiring && rows.length > 0 ? EXIT_CERTIFICATES_EXPIRING : 0;
  } finally {
    await sync.close();
  }
}
