/**
 * The `when` every organisation and domain change takes: a `Date` (the history can be written in
 * the past; default: the model's clock) or `{ at?, silent? }`. `silent: true` makes the same change
 * at the same time but appends no event and tells no listener (WorkOS changed something and no
 * event reached the mirror); the event that would have been sent is still returned, and its id is
 * never listed.
 */

export interface EventOptions {
  /** When the change happens. Default: the model's clock. */
  at?: Date;
  /** Change state and timestamps the same way, but append no event. */
  silent?: boolean;
}

export type When = Date | EventOptions;

export function optionsOf(when: When | undefined): EventOptions {
  return when instanceof Date ? { at: when } : (when ?? {});
}
