/**
 * Postgres's wire protocol as a proxy (tcp-proxy.ts) sees it, enough to act on one statement: the
 * client's `Query` (simple protocol: `begin`, `commit`, a statement without parameters) and
 * `Parse` (extended: every statement with parameters) messages with their SQL text, and the
 * server's `BackendKeyData`, which names the backend process (its pid in `pg_stat_activity`).
 *
 * The connections must not use TLS (`sslmode=disable`: `proxiedUrl` sets it), or there is nothing
 * to read; and they are read from their first byte, so watch a proxy before its client connects.
 */
import type { Direction, ProxiedConnection, ProxyTarget, TcpProxy } from './tcp-proxy.ts';

export interface WireMessage {
  /** The message's type byte ('Q', 'P', 'K', …); '' for the client's untyped startup messages. */
  readonly type: string;
  readonly body: Buffer;
}

/** SSLRequest and GSSENCRequest: untyped, and followed by another untyped startup message. */
const ENCRYPTION_REQUESTS = new Set([80877103, 80877104]);

/** Splits one direction's bytes into messages, whatever the chunks' boundaries. */
export class MessageReader {
  #pending: Buffer = Buffer.alloc(0);
  /** The client's first messages have no type byte; the server's all do. */
  #untyped: boolean;

  constructor(direction: Direction) {
    this.#untyped = direction === 'toTarget';
  }

  push(chunk: Buffer): WireMessage[] {
    this.#pending = this.#pending.length === 0 ? chunk : Buffer.concat([this.#pending, chunk]);
    const messages: WireMessage[] = [];
    while (true) {
      const header = this.#untyped ? 0 : 1;
      if (this.#pending.length < header + 4) break;
      const length = this.#pending.readInt32BE(header);
      const end = header + length;
      if (this.#pending.length < end) break;
      const type = this.#untyped ? '' : String.fromCharCode(this.#pending[0]!);
      const body = this.#pending.subarray(header + 4, end);
      if (this.#untyped) this.#untyped = ENCRYPTION_REQUESTS.has(body.readInt32BE(0));
      messages.push({ type, body });
      this.#pending = this.#pending.subarray(end);
    }
    return messages;
  }
}

/** The SQL of a `Query` or `Parse` message; undefined for any other. */
export function sqlOf(message: WireMessage): string | undefined {
  if (message.type === 'Q') return cString(message.body, 0);
  if (message.type === 'P') {
    const nameEnd = message.body.indexOf(0);
    return cString(message.body, nameEnd + 1);
  }
  return undefined;
}

function cString(buffer: Buffer, start: number): string {
  const end = buffer.indexOf(0, start);
  return buffer.toString('utf8', start, end === -1 ? buffer.length : end);
}

/** Called with each statement the client sends, before the proxy forwards the chunk carrying it. */
export type StatementHook = (sql: string, connection: ProxiedConnection) => void;

export interface PostgresWatch {
  /** Adds a hook for every statement; returns its removal. */
  onStatement(hook: StatementHook): () => void;
  /** The backend pid the server named on this connection (after its startup). */
  pidOf(connection: ProxiedConnection): number | undefined;
  /** Every statement sent through the proxy so far, with its connection's id, in order. */
  readonly statements: ReadonlyArray<{ readonly connection: number; readonly sql: string }>;
  stop(): void;
}

export function watchPostgres(proxy: TcpProxy): PostgresWatch {
  const readers = new WeakMap<ProxiedConnection, Record<Direction, MessageReader>>();
  const pids = new WeakMap<ProxiedConnection, number>();
  const hooks = new Set<StatementHook>();
  const statements: { connection: number; sql: string }[] = [];
  const stop = proxy.onChunk((direction, chunk, connection) => {
    let pair = readers.get(connection);
    if (!pair) {
      pair = { toTarget: new MessageReader('toTarget'), toClient: new MessageReader('toClient') };
      readers.set(connection, pair);
    }
    for (const message of pair[direction].push(chunk)) {
      if (message.type === 'K' && direction === 'toClient') pids.set(connection, message.body.readInt32BE(0));
      const sql = direction === 'toTarget' ? sqlOf(message) : undefined;
      if (sql === undefined) continue;
      statements.push({ connection: connection.id, sql });
      for (const hook of [...hooks]) hook(sql, connection);
    }
  });
  return {
    onStatement(hook) {
      hooks.add(hook);
      return () => hooks.delete(hook);
    },
    pidOf: (connection) => pids.get(connection),
    statements,
    stop,
  };
}

/** Where a Postgres URL's server listens: its Unix-domain socket (`?host=/dir`) or its TCP port. */
export function postgresTarget(url: string): ProxyTarget {
  const parsed = new URL(url);
  const host = parsed.searchParams.get('host') ?? parsed.hostname;
  const port = Number(parsed.searchParams.get('port') ?? (parsed.port || 5432));
  return host.startsWith('/') ? { path: `${host}/.s.PGSQL.${port}` } : { host, port };
}

/** The same database reached through `proxy`, in plaintext so the proxy can read the protocol. */
export function proxiedUrl(url: string, proxy: TcpProxy, params: Record<string, string> = {}): string {
  const parsed = new URL(url);
  parsed.searchParams.delete('host');
  parsed.searchParams.delete('port');
  parsed.hostname = proxy.host;
  parsed.port = String(proxy.port);
  parsed.searchParams.set('sslmode', 'disable');
  for (const [name, value] of Object.entries(params)) parsed.searchParams.set(name, value);
  return parsed.toString();
}
