/**
 * An application that embeds the library with an `onChange` hook writing to its own table
 * (`public.sso_audit`), for the crash test: with HOOK_BLOCK=1 the first call of the hook writes its
 * rows, says `in hook` on stdout, and never returns (the test then kills the process).
 */
import { sql } from 'kysely';
import pino from 'pino';
import { createWorkosSync } from '../../src/index.ts';

const env = process.env;
let block = env.HOOK_BLOCK === '1';
const sync = createWorkosSync({
  apiKey: env.WORKOS_API_KEY,
  apiUrl: env.WORKOS_API_URL,
  database: { url: env.DATABASE_URL! },
  logger: pino({ level: 'warn' }, pino.destination(2)),
  async onChange(trx, changes) {
    for (const c of changes) {
      if (c.type !== 'connection' && c.type !== 'certificate') continue;
      const source = c.source.kind === 'event' ? c.source.eventId : 'listing';
      await sql`insert into public.sso_audit values (${c.connectionId}, ${`${c.type}.${c.kind}`}, ${source})`.execute(
        trx,
      );
    }
    if (block) {
      block = false;
      process.stdout.write('in hook\n');
      await new Promise(() => {});
    }
  },
});
await sync.migrate();
await sync.backfill();
await sync.close();
process.stdout.write('done\n');
