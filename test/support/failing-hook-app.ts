/**
 * A one-shot script embedding the library, as run from cron: `poll` or `backfill` (the first
 * argument) with an `onChange` hook that always throws, saying `hook <n>` on stdout at each call.
 * It lets the rejection end the process as a script does: Node prints the error, its cause
 * included, and exits 1. The backoff is shortened to keep the test quick; the bound is the default.
 */
import pino from 'pino';
import { createWorkosSync } from '../../src/index.ts';

const env = process.env;
let calls = 0;
const sync = createWorkosSync({
  apiKey: env.WORKOS_API_KEY,
  apiUrl: env.WORKOS_API_URL,
  database: { url: env.DATABASE_URL! },
  logger: pino({ level: 'warn' }, pino.destination(2)),
  onChange() {
    calls++;
    process.stdout.write(`hook ${calls}\n`);
    throw new Error('the audit service is down');
  },
});
await sync.migrate();
const backoff = { initialMs: 5, maxMs: 50 };
try {
  if (process.argv[2] === 'backfill') await sync.backfill({ backoff });
  else await sync.poll({ backoff });
} finally {
  await sync.close();
}
process.stdout.write('done\n');
