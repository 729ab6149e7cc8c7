/**
 * Errors the model throws for bad list requests. Each carries the HTTP status and body the server
 * answers with, so the model stays usable without HTTP and the server needs no error mapping table.
 */

export abstract class EmulatorRequestError extends Error {
  abstract readonly status: number;
  abstract body(): Record<string, unknown>;
}

/** A query parameter is out of range or malformed: 422, shaped like WorkOS's validation errors. */
export class InvalidParameterError extends EmulatorRequestError {
  override readonly name = 'InvalidParameterError';
  readonly status = 422;

  constructor(
    readonly field: string,
    message: string,
  ) {
    super(message);
  }

  body(): Record<string, unknown> {
    return { message: this.message, errors: [{ field: this.field, code: 'invalid' }] };
  }
}

/**
 * A pagination cursor the emulator does not know, or one pointing at an event past retention.
 * What the real API does with an expired cursor is undocumented; the emulator answers 400 with
 * `{ message }` (the shape WorkOS documents for 400 on List Events).
 */
export class UnknownCursorError extends EmulatorRequestError {
  override readonly name = 'UnknownCursorError';
  readonly status = 400;

  constructor(
    readonly field: 'after' | 'before',
    readonly cursor: string,
  ) {
    super(`Invalid cursor: '${cursor}' does not reference an object that can be listed.`);
  }

  body(): Record<string, unknown> {
    return { message: this.message };
  }
}

/** A single object that does not exist (or no longer does). */
export class NotFoundError extends EmulatorRequestError {
  override readonly name = 'NotFoundError';
  readonly status = 404;

  body(): Record<string, unknown> {
    return { message: this.message };
  }
}
