/**
 * Log lines: JSON for machines, readable lines on a terminal (pino-pretty, loaded only then), and
 * no configured secret in either — written by a real child process to its real stderr.
 */
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { expect, it } from 'vitest';
import { finished } from './support/cli.ts';

const root = fileURLToPath(new URL('..', import.meta.url));
const SECRET = 'sk_test_logger_0123456789';

function logOnce(pretty: boolean) {
  const script = `
    const { createLogger } = await import('./src/logger.ts');
    const log = createLogger({ level: 'info', secrets: [${JSON.stringify(SECRET)}], pretty: ${pretty} });
    log.warn({ err: new Error('rejected ${SECRET}'), poll: 3 }, 'could not reach WorkOS');`;
  return finished(
    spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], {
      cwd: root,
      env: { PATH: process.env.PATH },
      stdio: ['ignore', 'pipe', 'pipe'],
    }),
  );
}

it('writes one JSON object per line, secrets redacted', async () => {
  const { code, stderr } = await logOnce(false);
  expect(code).toBe(0);
  const line = JSON.parse(stderr.trim()) as Record<string, unknown>;
  expect(line).toMatchObject({ level: 40, msg: 'could not reach WorkOS', poll: 3 });
  expect(stderr).toContain('rejected [redacted]');
  expect(stderr).not.toContain(SECRET);
});

it('writes readable lines for a terminal, secrets redacted', async () => {
  const { code, stderr } = await logOnce(true);
  expect(code).toBe(0);
  expect(stderr).toMatch(/WARN.*could not reach WorkOS/);
  expect(stderr).toContain('rejected [redacted]');
  expect(stderr).not.toContain(SECRET);
  expect(() => JSON.parse(stderr.trim())).toThrow();
});
