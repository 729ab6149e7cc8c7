/**
 * `COPY ... FROM STDIN` and `COPY ... TO STDOUT` on a plain `pg` client, without
 * `pg-copy-streams` (not a dependency here). `pg` hands the copy sub-protocol to whatever object
 * is being run (`client.query(submittable)`): this one sends or collects the CopyData messages.
 */
import type pg from 'pg';

/** The subset of pg's internal Connection this needs. */
interface WireConnection {
  query(text: string): void;
  sendCopyFromChunk(chunk: Buffer): void;
  endCopyFrom(): void;
}

class CopyCommand {
  readonly chunks: Buffer[] = [];
  rowCount = 0;
  readonly done: Promise<void>;
  #resolve!: () => void;
  #reject!: (error: Error) => void;
  #failed = false;

  constructor(
    private readonly text: string,
    private readonly input: readonly Buffer[] = [],
  ) {
    this.done = new Promise((resolve, reject) => {
      this.#resolve = resolve;
      this.#reject = reject;
    });
  }

  submit(connection: WireConnection): void {
    connection.query(this.text);
  }

  handleCopyInResponse(connection: WireConnection): void {
    for (const chunk of this.input) connection.sendCopyFromChunk(chunk);
    connection.endCopyFrom();
  }

  handleCopyData(message: { chunk: Buffer }): void {
    // pg parses into a buffer it reuses: keep a copy.
    this.chunks.push(Buffer.from(message.chunk));
  }

  handleCommandComplete(message: { text: string }): void {
    this.rowCount = Number(/\d+$/.exec(message.text)?.[0] ?? 0);
  }

  handleReadyForQuery(): void {
    if (!this.#failed) this.#resolve();
  }

  handleError(error: Error): void {
    this.#failed = true;
    this.#reject(error);
  }

  handleRowDescription(): void {}
  handleDataRow(): void {}
  handleEmptyQuery(): void {}
  handlePortalSuspended(): void {}
}

/** Runs `COPY <target> FROM STDIN` with `data` (text format) and returns the rows copied. */
export async function copyIn(
  client: pg.ClientBase,
  target: string,
  data: readonly Buffer[],
): Promise<number> {
  const command = new CopyCommand(`copy ${target} from stdin`, data);
  client.query(command as unknown as pg.QueryConfig);
  await command.done;
  return command.rowCount;
}

/** Runs `COPY <source> TO STDOUT` and returns its text-format output. */
export async function copyOut(client: pg.ClientBase, source: string): Promise<Buffer[]> {
  const command = new CopyCommand(`copy ${source} to stdout`);
  client.query(command as unknown as pg.QueryConfig);
  await command.done;
  return command.chunks;
}
