/**
 * The demo's live period: WorkOS changes the way a real environment does, and each change is
 * shown with how long it took to appear in the mirror (its webhook nudged the poller).
 */
import type { Kysely } from 'kysely';
import type { WorkosModel } from '../../emulator/index.ts';
import type { Database } from '../db/tables.ts';
import { sleep } from '../time.ts';

interface Change {
  readonly label: string;
  /** Applies the change in WorkOS; returns a check that the mirror shows it, or null if events cannot. */
  apply(): (() => Promise<boolean>) | null;
  /** What showed it, for the line that says how soon (default: the mirror). */
  readonly shownBy?: string;
}

export function startLiveChanges(deps: {
  db: Kysely<Database>;
  model: WorkosModel;
  say: (line: string) => void;
}) {
  const { db, model, say } = deps;
  const live = model.liveConnections();
  const active = live.find((c) => c.state === 'active');
  const saml = live.find(
    (c) => String(c.connection_type).endsWith('SAML') && c.state === 'active' && c.id !== active?.id,
  );
  const changes: Change[] = [];
  if (active) {
    changes.push({
      label: `${active.name} is deactivated`,
      apply() {
        model.deactivate(String(active.id));
        return async () =>
          (
            await db
              .selectFrom('connections')
              .select('state')
              .where('id', '=', String(active.id))
              .executeTakeFirst()
          )?.state === 'inactive';
      },
    });
  }
  if (saml) {
    changes.push({
      label: `${saml.name}'s signing certificate starts needing renewal (expires in 12 days)`,
      apply() {
        const event = model.requireCertificateRenewal(
          String(saml.id),
          'ResponseSigning',
          new Date(Date.now() + 12 * 86_400_000),
        );
        return async () =>
          (await db
            .selectFrom('events')
            .select('id')
            .where('id', '=', String(event.id))
            .executeTakeFirst()) !== undefined;
      },
    });
  }
  const pending = model
    .liveOrganizations()
    .flatMap((o) => o.domains.map((d) => ({ organization: o, domain: d })))
    .find(({ domain }) => domain.state === 'pending');
  if (pending) {
    changes.push({
      label: `${pending.organization.name} verifies ${pending.domain.domain} (an organization_domain.verified event, no connection event)`,
      shownBy: `the routing query (domain_routes) answers "verified" for ${pending.domain.domain}, no reconciliation,`,
      apply() {
        model.verifyDomain(pending.domain.id);
        // What "which connection serves this domain" answers, from the mirror.
        return async () =>
          (
            await db
              .selectFrom('domain_routes')
              .select('domain_state')
              .where('domain_id', '=', pending.domain.id)
              .executeTakeFirst()
          )?.domain_state === 'verified';
      },
    });
  }
  changes.push({
    label: 'a new connection for Initech is created and activated',
    apply() {
      const created = model.createConnection({
        name: 'Initech Okta',
        connectionType: 'OktaSAML',
        domains: ['initech.example'],
      });
      model.activate(String(created.id));
      return async () =>
        (await db
          .selectFrom('live_connections')
          .select('id')
          .where('id', '=', String(created.id))
          .executeTakeFirst()) !== undefined;
    },
  });
  if (live[1]) {
    const renamed = live[1];
    changes.push({
      label: `${renamed.name} is renamed (WorkOS emits no event for that: the next reconciliation finds it)`,
      apply() {
        model.rename(String(renamed.id), `${renamed.name} (renamed)`);
        return null;
      },
    });
  }

  let stopped = false;
  const done = (async () => {
    for (const change of changes) {
      if (stopped) return;
      await sleep(700);
      const at = performance.now();
      const visible = change.apply();
      say(`  ${new Date().toISOString().slice(11, 19)} WorkOS: ${change.label}`);
      if (!visible) continue;
      while (!stopped && !(await visible())) await sleep(50);
      if (!stopped)
        say(
          `           webhook → ${change.shownBy ?? 'in Postgres'} ${Math.round(performance.now() - at)} ms later`,
        );
    }
  })();
  return {
    async stop() {
      stopped = true;
      await done;
    },
  };
}
