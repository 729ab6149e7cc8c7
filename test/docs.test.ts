/**
 * The documentation holds together: every relative link in the README, BENCHMARKS.md and docs/
 * reaches a file that exists and, with a `#fragment`, a heading (or an `<a id>`) of that file — so a
 * section moved from one page to another cannot leave a link behind. And a benchmark run rewrites
 * BENCHMARKS.md but keeps its section of figures measured by hand.
 */
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { BY_HAND, measuredByHand, row, writeResults } from '../bench/report.ts';

const root = fileURLToPath(new URL('..', import.meta.url));
const pages = [
  'README.md',
  'BENCHMARKS.md',
  ...readdirSync(join(root, 'docs'))
    .filter((file) => file.endsWith('.md'))
    .map((file) => `docs/${file}`),
];

/** The text outside fenced code blocks, with inline code spans emptied (a link's text may hold one). */
function prose(markdown: string): string {
  return markdown.replace(/^```[\s\S]*?^```/gm, '').replace(/`[^`\n]*`/g, 'code');
}

/** GitHub's anchor for a heading: lower case, punctuation dropped, spaces as hyphens. */
function slug(heading: string): string {
  return heading
    .replace(/\[([^\]]*)\]\([^)]*\)/g, '$1')
    .toLowerCase()
    .replace(/[^\p{L}\p{N}\s_-]/gu, '')
    .replace(/ /g, '-');
}

/** Every anchor a page has: its headings' (a repeated one numbered as GitHub does) and its `<a id>`s. */
function anchorsOf(markdown: string): Set<string> {
  const anchors = new Set<string>();
  const seen = new Map<string, number>();
  const outsideCode = markdown.replace(/^```[\s\S]*?^```/gm, '');
  for (const [, heading] of outsideCode.matchAll(/^#{1,6} (.+)$/gm)) {
    const base = slug(heading!.trim());
    const count = seen.get(base) ?? 0;
    seen.set(base, count + 1);
    anchors.add(count === 0 ? base : `${base}-${count}`);
  }
  for (const [, id] of outsideCode.matchAll(/<a (?:id|name)="([^"]+)"/g)) anchors.add(id!);
  return anchors;
}

describe('links between the docs', () => {
  it.each(pages)('%s: every relative link reaches its file, and its heading', (page) => {
    const text = readFileSync(join(root, page), 'utf8');
    const broken: string[] = [];
    for (const [, target] of prose(text).matchAll(/\]\(([^)\s]+)\)/g)) {
      if (/^[a-z]+:/i.test(target!)) continue;
      const [path, fragment] = target!.split('#', 2) as [string, string | undefined];
      const file = path === '' ? join(root, page) : join(root, dirname(page), path);
      if (!existsSync(file)) {
        broken.push(`${target}: no ${relative(root, file)}`);
        continue;
      }
      if (fragment === undefined || !file.endsWith('.md') || statSync(file).isDirectory()) continue;
      if (!anchorsOf(readFileSync(file, 'utf8')).has(fragment)) {
        broken.push(`${target}: no heading #${fragment} in ${relative(root, file)}`);
      }
    }
    expect(broken).toEqual([]);
  });

  it('GitHub anchors, as this test computes them', () => {
    expect([
      ...anchorsOf("## Health and metrics (`run`)\n## Where CI's time goes\n## A — B\n## A — B"),
    ]).toEqual(['health-and-metrics-run', 'where-cis-time-goes', 'a--b', 'a--b-1']);
  });
});

describe("BENCHMARKS.md's figures measured by hand", () => {
  const dir = mkdtempSync(join(tmpdir(), 'workos-sync-docs-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  const info = {
    machine: { cores: 2, cpu: 'test', memoryGb: 1, node: 'v22', platform: 'linux x64' },
    postgres: '17',
    command: 'npm run bench',
    quick: true,
    startedAt: new Date('2026-01-01T00:00:00Z'),
    durationMs: 60_000,
    loadBefore: 0,
    loadAfter: 0,
  };
  const rows = [row('backfill, local', '10 events', 1.5, 's')];

  it('the committed file has the section, last', () => {
    const committed = readFileSync(join(root, 'BENCHMARKS.md'), 'utf8');
    const section = measuredByHand(committed);
    expect(section, `BENCHMARKS.md has a section "${BY_HAND}"`).not.toBeNull();
    expect(section!.slice(BY_HAND.length), 'no other ## section after it').not.toMatch(/^## /m);
  });

  it('a run rewrites the rest of the file and keeps the section as it was', () => {
    const paths = { json: join(dir, 'results.json'), markdown: join(dir, 'BENCHMARKS.md') };
    const section = `${BY_HAND}\n\nA tarball of about 1 kB and 2 files.\n`;
    writeFileSync(paths.markdown, `# Benchmarks\n\nAn older run.\n\n${section}`);
    writeResults(paths, rows, ['a note'], info);
    const written = readFileSync(paths.markdown, 'utf8');
    expect(written).not.toContain('An older run.');
    expect(written).toContain('| backfill, local | 10 events | 1.50 s |');
    expect(written.endsWith(`\n\n${section}`)).toBe(true);
    expect(measuredByHand(written)).toBe(section);
  });

  it('a run into a new folder writes no such section', () => {
    const paths = { json: join(dir, 'new.json'), markdown: join(dir, 'NEW.md') };
    writeResults(paths, rows, [], info);
    expect(measuredByHand(readFileSync(paths.markdown, 'utf8'))).toBeNull();
  });
});
