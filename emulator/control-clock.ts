/**
 * The emulated WorkOS's clock over the control API (`/_emulator/clock`): read it, or run it ahead
 * of or behind real time by setting its offset. Moving the offset back never sets the clock back
 * (`clock.ts`): it holds still until real time + offset catches up, and `hold_ms` says for how
 * long yet.
 */
import { z } from 'zod';
import { type ClockReading, clockOffsetProblem, MAX_CLOCK_OFFSET_MS } from './clock.ts';
import { parse } from './control-bodies.ts';
import type { ControlHandler } from './control-request.ts';

const OFFSET_RULE = `must be an integer number of milliseconds from -${MAX_CLOCK_OFFSET_MS} to ${MAX_CLOCK_OFFSET_MS} (positive: WorkOS ahead of real time)`;

const clockBody = z.strictObject({
  offset_ms: z
    .number({ error: OFFSET_RULE })
    .refine((ms) => clockOffsetProblem(ms) === undefined, { error: OFFSET_RULE }),
});

function clockJson(reading: ClockReading): Record<string, unknown> {
  return {
    object: 'emulator_clock',
    now: reading.now.toISOString(),
    offset_ms: reading.offsetMs,
    hold_ms: reading.holdMs,
  };
}

export const readClock: ControlHandler = ({ target: { model } }) => ({
  status: 200,
  body: clockJson(model.readClock()),
});

export const setClock: ControlHandler = ({ target: { model }, body }) => {
  const { offset_ms } = parse(clockBody, body);
  return { status: 200, body: clockJson(model.setClockOffset(offset_ms)) };
};
