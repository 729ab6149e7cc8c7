/**
 * Every mutant of `test/mutants/` still applies: its text occurs exactly once in its file. A
 * mutant whose line moved breaks nothing when run, so it would pass for killed while the
 * invariant it stands for goes untested; this fails instead, naming it.
 */
import { readFileSync } from 'node:fs';
import { expect, it } from 'vitest';
import { mutants } from './mutants/mutants.ts';

it.each(mutants.map((m) => [m.id, m.rule, m]))('mutant %i (%s) applies to its file', (_id, _rule, mutant) => {
  const text = readFileSync(new URL(`../${mutant.file}`, import.meta.url), 'utf8');
  expect(text.split(mutant.find).length - 1).toBe(1);
});
