/**
 * A TCP proxy a test controls, between a client (the worker) and a server (Postgres, the WorkOS
 * emulator), to make the network misbehave on cue instead of hoping it does:
 *
 * - pass (the start): bytes relayed as they come, a close passed on after them.
 * - `latency({ toTarget, toClient })`: every chunk waits that long after it arrived, in order. A
 *   change applies to the chunks still waiting too, so a spike that ends releases them at once.
 * - `blackhole()`: bytes go nowhere and nothing is closed, on every connection, new ones too (their
 *   TCP handshake succeeds, as a real blackhole's would not: either way nothing ever answers). A
 *   close or a reset from one side does not reach the other either.
 * - `refuse()`: every connection, current and new, is cut (a middlebox sending resets).
 * - `cutAll()`, `connection.cut()`, `cutWhen(rule)`: cut now, or mid-stream — after so many bytes,
 *   or at a chunk a predicate picks, just before it is forwarded or just after.
 * - `halfOpen()`, `connection.halfOpen()`: stop relaying for good and never close: each peer keeps
 *   an established socket to a line that says nothing again. The proxy's own sockets answer TCP
 *   keepalive probes, so neither peer's keepalive can tell — the fault only a client-side bound on
 *   the wait for a reply finds.
 * - `heal()`: back to pass, for new and existing connections. A connection that lost bytes to the
 *   blackhole, or went half-open, cannot carry its protocol any more (its stream has a hole): it
 *   is cut, as a stateful firewall that forgot it would reset it.
 *
 * `onChunk(hook)` sees every chunk as it arrives from either side, whatever the mode, before it is
 * forwarded: a test finds the message it wants there (postgres-wire.ts reads Postgres's) and acts
 * on that connection at once — a barrier on the wire, not a sleep.
 */
import { createServer, connect as netConnect, type Server, type Socket } from 'node:net';

/** `toTarget`: from the client to the server the proxy fronts; `toClient`: the replies. */
export type Direction = 'toTarget' | 'toClient';

export type ProxyMode = 'pass' | 'blackhole' | 'half-open' | 'refuse';

/** Where the proxied server listens: a TCP port, or a Unix-domain socket path. */
export type ProxyTarget = { readonly host: string; readonly port: number } | { readonly path: string };

export interface ProxiedConnection {
  /** 1 for the first connection the proxy accepted, and so on. */
  readonly id: number;
  /** Bytes that arrived from each side so far, forwarded or not. */
  readonly received: Readonly<Record<Direction, number>>;
  /** Bytes written on to the other side so far. */
  readonly forwarded: Readonly<Record<Direction, number>>;
  /** Whether the blackhole ate some of its bytes, or it went half-open: its stream has a hole. */
  readonly damaged: boolean;
  /** Resolves once the client has closed its side (an orderly close or a reset), or it was cut. */
  readonly clientClosed: Promise<void>;
  readonly isClientClosed: boolean;
  /** The same for the server's side. */
  readonly targetClosed: Promise<void>;
  /** Destroys both sockets now; whatever was not forwarded yet is lost. */
  cut(): void;
  /** Cuts instead of forwarding the next chunk that arrives going `direction`. */
  cutBeforeNext(direction: Direction): void;
  /** Forwards `bytes` going `direction` (after what waits before them), then cuts. */
  forwardThenCut(direction: Direction, bytes: Buffer): void;
  /** Relays nothing more, ever, and passes no close on (see the module's comment). */
  halfOpen(): void;
}

/** Called for every chunk, before the proxy forwards it; may act on the connection (cut it…). */
export type ChunkHook = (direction: Direction, chunk: Buffer, connection: ProxiedConnection) => void;

export interface CutRule {
  readonly direction: Direction;
  /** Cut once this many bytes have gone that way on one connection (the chunk crossing it is split). */
  readonly afterBytes?: number;
  /** Cut at the first chunk going that way that this picks. */
  readonly matches?: (chunk: Buffer, connection: ProxiedConnection) => boolean;
  /** With `matches`: forward that chunk, then cut (true), or cut instead of forwarding it (false). */
  readonly forward?: boolean;
}

export interface TcpProxy {
  readonly host: string;
  readonly port: number;
  /** The connections whose client is still connected (half-open ones included). */
  connections(): readonly ProxiedConnection[];
  /** Connections accepted so far. */
  readonly accepted: number;
  /** When each was accepted (`performance.now()`), refused ones included. */
  readonly acceptedAt: readonly number[];
  readonly mode: ProxyMode;
  /** Adds a hook for every chunk from either side; returns its removal. */
  onChunk(hook: ChunkHook): () => void;
  latency(ms: number | Partial<Record<Direction, number>>): void;
  blackhole(): void;
  refuse(): void;
  halfOpen(): void;
  cutAll(): void;
  /** Cuts the first connection to meet the rule and resolves with it; the rule is then spent. */
  cutWhen(rule: CutRule): Promise<ProxiedConnection>;
  heal(): void;
  close(): Promise<void>;
}

/** Queued in a direction after the bytes before it: pass a close on, or cut once they are written. */
const END = Symbol('end');
const CUT = Symbol('cut');
type Item = { readonly data: Buffer | typeof END | typeof CUT; readonly arrivedAt: number };

interface ProxyState {
  readonly mode: ProxyMode;
  latencyOf(direction: Direction): number;
  notify(direction: Direction, chunk: Buffer, connection: Connection): void;
  forget(connection: Connection): void;
}

class Connection implements ProxiedConnection {
  readonly received: Record<Direction, number> = { toTarget: 0, toClient: 0 };
  readonly forwarded: Record<Direction, number> = { toTarget: 0, toClient: 0 };
  damaged = false;
  readonly clientClosed: Promise<void>;
  isClientClosed = false;
  readonly targetClosed: Promise<void>;
  /** What this connection does whatever the proxy's mode: `cutting` drops arrivals until its cut. */
  #own: 'pass' | 'half-open' | 'cutting' | 'cut' = 'pass';
  readonly #cutBefore = new Set<Direction>();
  readonly #queues: Record<Direction, Item[]> = { toTarget: [], toClient: [] };
  readonly #timers: Partial<Record<Direction, NodeJS.Timeout>> = {};
  #socketsClosed = 0;

  constructor(
    readonly id: number,
    private readonly client: Socket,
    private readonly target: Socket,
    private readonly proxy: ProxyState,
  ) {
    this.clientClosed = closedSide(client).then(() => {
      this.isClientClosed = true;
    });
    this.targetClosed = closedSide(target);
    this.#relay(client, 'toTarget');
    this.#relay(target, 'toClient');
  }

  get #mode(): ProxyMode | 'cutting' | 'cut' {
    return this.#own === 'pass' ? this.proxy.mode : this.#own;
  }

  cut(): void {
    if (this.#own === 'cut') return;
    this.#own = 'cut';
    for (const direction of ['toTarget', 'toClient'] as const) {
      clearTimeout(this.#timers[direction]);
      this.#queues[direction].length = 0;
    }
    this.client.destroy();
    this.target.destroy();
  }

  cutBeforeNext(direction: Direction): void {
    this.#cutBefore.add(direction);
  }

  forwardThenCut(direction: Direction, bytes: Buffer): void {
    if (this.#own === 'cut' || this.#own === 'cutting') return;
    this.#own = 'cutting';
    const now = Date.now();
    this.#queues[direction].push({ data: bytes, arrivedAt: now }, { data: CUT, arrivedAt: now });
    this.#drain(direction);
  }

  halfOpen(): void {
    if (this.#own !== 'pass') return;
    this.#own = 'half-open';
    this.damaged = true;
    this.pump();
  }

  /** After a change of latency or mode: deliver what is due now, and wait for the rest. */
  pump(): void {
    this.#drain('toTarget');
    this.#drain('toClient');
  }

  #relay(from: Socket, direction: Direction): void {
    let ended = false;
    from.on('data', (chunk: Buffer) => {
      this.received[direction] += chunk.length;
      this.proxy.notify(direction, chunk, this);
      if (this.#own === 'cut' || this.#own === 'cutting') return;
      if (this.#cutBefore.has(direction)) return this.cut();
      this.#queues[direction].push({ data: chunk, arrivedAt: Date.now() });
      this.#drain(direction);
    });
    from.on('end', () => {
      ended = true;
      this.#queues[direction].push({ data: END, arrivedAt: Date.now() });
      this.#drain(direction);
    });
    from.on('error', () => undefined);
    from.on('close', () => {
      if (++this.#socketsClosed === 2) this.proxy.forget(this);
      if (ended || this.#own === 'cut') return;
      // A reset, not an orderly close: passed on as a cut, unless the line carries nothing now.
      const mode = this.#mode;
      if (mode === 'half-open' || mode === 'blackhole') this.damaged = true;
      else this.cut();
    });
  }

  #drain(direction: Direction): void {
    clearTimeout(this.#timers[direction]);
    const queue = this.#queues[direction];
    const to = direction === 'toTarget' ? this.target : this.client;
    while (queue.length > 0) {
      const mode = this.#mode;
      if (mode === 'cut') return;
      const head = queue[0]!;
      if ((mode === 'blackhole' || mode === 'half-open') && head.data !== CUT) {
        queue.length = 0;
        this.damaged = true;
        return;
      }
      const due = head.arrivedAt + this.proxy.latencyOf(direction);
      const now = Date.now();
      if (due > now) {
        this.#timers[direction] = setTimeout(() => this.#drain(direction), due - now);
        return;
      }
      queue.shift();
      if (head.data === END) to.end();
      // The write's callback runs once the bytes before it reached the kernel: then cut.
      else if (head.data === CUT) to.write(Buffer.alloc(0), () => this.cut());
      else if (!to.destroyed) {
        this.forwarded[direction] += head.data.length;
        to.write(head.data);
      }
    }
  }
}

/** Resolves when the peer has closed its side of `socket` (FIN or reset), or the socket is gone. */
function closedSide(socket: Socket): Promise<void> {
  return new Promise((resolve) => {
    socket.once('end', resolve);
    socket.once('close', resolve);
  });
}

class ControlledProxy implements TcpProxy, ProxyState {
  readonly host = '127.0.0.1';
  port = 0;
  accepted = 0;
  readonly acceptedAt: number[] = [];
  mode: ProxyMode = 'pass';
  readonly #open = new Set<Connection>();
  readonly #hooks = new Set<ChunkHook>();
  #latency: Record<Direction, number> = { toTarget: 0, toClient: 0 };
  readonly #server: Server;

  constructor(private readonly target: ProxyTarget) {
    this.#server = createServer({ allowHalfOpen: true }, (client) => this.#accept(client));
  }

  async listen(): Promise<void> {
    await new Promise<void>((resolve) => this.#server.listen(0, this.host, resolve));
    this.port = (this.#server.address() as { port: number }).port;
  }

  connections(): readonly ProxiedConnection[] {
    return [...this.#open].filter((connection) => !connection.isClientClosed);
  }

  onChunk(hook: ChunkHook): () => void {
    this.#hooks.add(hook);
    return () => this.#hooks.delete(hook);
  }

  notify(direction: Direction, chunk: Buffer, connection: Connection): void {
    for (const hook of [...this.#hooks]) hook(direction, chunk, connection);
  }

  latencyOf(direction: Direction): number {
    return this.#latency[direction];
  }

  latency(ms: number | Partial<Record<Direction, number>>): void {
    this.#latency = typeof ms === 'number' ? { toTarget: ms, toClient: ms } : { ...this.#latency, ...ms };
    for (const connection of this.#open) connection.pump();
  }

  blackhole(): void {
    this.#setMode('blackhole');
  }

  halfOpen(): void {
    this.#setMode('half-open');
    for (const connection of this.#open) connection.halfOpen();
  }

  refuse(): void {
    this.#setMode('refuse');
    this.cutAll();
  }

  cutAll(): void {
    for (const connection of [...this.#open]) connection.cut();
  }

  cutWhen(rule: CutRule): Promise<ProxiedConnection> {
    return new Promise((resolve) => {
      const sent = new WeakMap<ProxiedConnection, number>();
      const remove = this.onChunk((direction, chunk, connection) => {
        if (direction !== rule.direction) return;
        if (rule.afterBytes !== undefined) {
          const before = sent.get(connection) ?? 0;
          sent.set(connection, before + chunk.length);
          if (before + chunk.length < rule.afterBytes) return;
          remove();
          // The bytes up to the limit go on; the rest of this chunk, and everything after, do not.
          connection.forwardThenCut(direction, chunk.subarray(0, rule.afterBytes - before));
          return resolve(connection);
        }
        if (!rule.matches?.(chunk, connection)) return;
        remove();
        if (rule.forward) connection.forwardThenCut(direction, chunk);
        else connection.cut();
        resolve(connection);
      });
    });
  }

  heal(): void {
    for (const connection of [...this.#open]) if (connection.damaged) connection.cut();
    this.#setMode('pass');
  }

  forget(connection: Connection): void {
    this.#open.delete(connection);
  }

  async close(): Promise<void> {
    this.#hooks.clear();
    this.cutAll();
    await new Promise<void>((resolve) => this.#server.close(() => resolve()));
  }

  #setMode(mode: ProxyMode): void {
    this.mode = mode;
    for (const connection of this.#open) connection.pump();
  }

  #accept(client: Socket): void {
    this.accepted++;
    this.acceptedAt.push(performance.now());
    client.on('error', () => undefined);
    if (this.mode === 'refuse') {
      client.resetAndDestroy();
      return;
    }
    // What the client sends before the server has accepted waits in the target socket's buffer.
    const target = netConnect({ ...this.target, allowHalfOpen: true });
    const connection = new Connection(this.accepted, client, target, this);
    this.#open.add(connection);
    if (this.mode === 'half-open') connection.halfOpen();
  }
}

/** A proxy on 127.0.0.1, on an ephemeral port, in front of `target`; `close()` it when done. */
export async function startTcpProxy(target: ProxyTarget): Promise<TcpProxy> {
  const proxy = new ControlledProxy(target);
  await proxy.listen();
  return proxy;
}
