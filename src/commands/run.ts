/**
 * `run`: the long-running worker with its health and metrics server and, with a webhook secret,
 * its webhook receiver (the library's `start()`), until SIGTERM/SIGINT or a fatal error. Shutdown — the page in flight commits or rolls back, leases are given
 * back, the server and the pool close — is bounded, so a stuck dependency cannot hold a deploy.
 */
import type { Config } from '../config.ts';
import type { FatalError } from '../errors.ts';
import { openSync } from './open.ts';

const SHUTDOWN_DEADLINE_MS = 15_000;

export async function runCommand(config: Config, options: { readonly migrate: boolean }): Promise<void> {
  // With an environments file, each environment's key was required as the file was read.
  const { sync, log } = await openSync(config, {
    migrate: options.migrate,
    callsWorkos: config.environmentsFile === null,
  });
  // A fatal error is taken from `done` and thrown below, where the CLI reports it once.
  const running = sync.start({ onFatal: () => undefined });
  let fatal: FatalError | null = null;
  const signalled = new Promise<NodeJS.Signals>((resolve) => {
    process.once('SIGTERM', resolve);
    process.once('SIGINT', resolve);
  });
  try {
    await running.ready;
    const ended = await Promise.race([signalled, running.done]);
    if (typeof ended !== 'string') fatal = ended;
    log.info({ reason: typeof ended === 'string' ? ended : 'fatal' }, 'shutting down');
  } finally {
    const deadline = setTimeout(() => {
      log.error('shutdown did not finish in time; exiting anyway');
      process.exit(fatal ? 1 : 0);
    }, SHUTDOWN_DEADLINE_MS);
    deadline.unref();
    await sync.close();
    clearTimeout(deadline);
  }
  log.info('worker stopped');
  if (fatal) throw fatal;
}
