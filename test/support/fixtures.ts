/** The WorkOS documentation's example payloads, from ../shared/fixtures (read-only, beside the repo). */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const path = fileURLToPath(new URL('../../../shared/fixtures/connection-events.json', import.meta.url));

export interface FixtureEvent {
  readonly event: string;
  readonly id: string;
  readonly data: Record<string, unknown>;
  readonly created_at: string;
  readonly context: Record<string, unknown>;
}

export function documentedEvents(): FixtureEvent[] {
  return (JSON.parse(readFileSync(path, 'utf8')) as { events: FixtureEvent[] }).events;
}
