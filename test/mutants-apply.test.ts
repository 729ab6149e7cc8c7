/**
 * Every mutant of `test/mutants/` still applies: its text occurs exactly once in its file. A
 * mutant whose line moved breaks nothing when run, so it would pass for killed while the
 * invariant it stands for goes untested; this fails instead, naming it. And the table of
 * outcomes in test/mutants/README.md is the one these mutants produce: a row per mutant, each
 * naming the digest of the patch that was run — a mutant changed or added since is not run yet.
 */
import { readFileSync } from 'node:fs';
import { expect, it } from 'vitest';
import { mutants, patchDigest } from './mutants/mutants.ts';

it.each(mutants.map((m) => [m.id, m.rule, m]))('mutant %i (%s) applies to its file', (_id, _rule, mutant) => {
  const text = readFileSync(new URL(`../${mutant.file}`, import.meta.url), 'utf8');
  expect(text.split(mutant.find).length - 1).toBe(1);
});

it('the README`s table has a row per mutant, each run with the patch the mutant has now, each killed', () => {
  const readme = readFileSync(new URL('./mutants/README.md', import.meta.url), 'utf8');
  const rows = new Map<number, string[]>();
  for (const line of readme.split('\n')) {
    const match = /^\| (\d+) \|/.exec(line);
    if (match) rows.set(Number(match[1]), line.split(' | '));
  }
  expect([...rows.keys()]).toEqual(mutants.map((m) => m.id));
  for (const mutant of mutants) {
    const cells = rows.get(mutant.id)!;
    expect(cells.at(-1), `mutant ${mutant.id} changed since its row was run`).toBe(
      `\`${patchDigest(mutant)}\` |`,
    );
    expect(cells[2], `mutant ${mutant.id}`).not.toBe('**survived**');
  }
});
