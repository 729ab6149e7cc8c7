/**
 * The test proxy itself (test/support/tcp-proxy.ts), against a plain TCP server on loopback: each
 * control does what the network-fault tests rely on. No database: sockets only.
 */
import { once } from 'node:events';
import { createServer, type Server, type Socket, connect as tcpConnect } from 'node:net';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { MessageReader, sqlOf } from './support/postgres-wire.ts';
import { startTcpProxy, type TcpProxy } from './support/tcp-proxy.ts';
import { until } from './support/worker-process.ts';

/** The server's sockets, and what each received. */
const accepted: { socket: Socket; received: () => string }[] = [];
let server: Server;
let port: number;
let proxy: TcpProxy;
const clients: Socket[] = [];

beforeAll(async () => {
  // Echoes every line back, so a round trip shows both directions.
  server = createServer({ allowHalfOpen: true }, (socket) => {
    let received = '';
    socket.on('data', (chunk) => {
      received += chunk;
      socket.write(chunk);
    });
    socket.on('end', () => socket.end());
    socket.on('error', () => undefined);
    accepted.push({ socket, received: () => received });
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  port = (server.address() as { port: number }).port;
});
afterEach(async () => {
  for (const client of clients.splice(0)) client.destroy();
  for (const { socket } of accepted.splice(0)) socket.destroy();
  await proxy?.close();
});
afterAll(() => new Promise((resolve) => server.close(resolve)));

interface Client {
  readonly socket: Socket;
  received(): string;
  readonly ended: Promise<void>;
}

async function client(): Promise<Client> {
  const socket = tcpConnect({ host: proxy.host, port: proxy.port });
  socket.on('error', () => undefined);
  clients.push(socket);
  let received = '';
  socket.on('data', (chunk) => {
    received += chunk;
  });
  const ended = new Promise<void>((resolve) => {
    socket.once('end', resolve);
    socket.once('close', resolve);
  });
  await once(socket, 'connect');
  return { socket, received: () => received, ended };
}

const start = async () => {
  proxy = await startTcpProxy({ host: '127.0.0.1', port });
};

it('passes bytes both ways, and a close', async () => {
  await start();
  const c = await client();
  c.socket.write('hello\n');
  await until(() => c.received() === 'hello\n', 5_000);
  c.socket.end();
  await c.ended;
  expect(proxy.connections()).toEqual([]);
});

describe('latency', () => {
  it('holds each chunk for its direction`s latency, in order; a spike that ends releases what waits', async () => {
    await start();
    const c = await client();
    proxy.latency({ toTarget: 60_000 });
    c.socket.write('a');
    c.socket.write('b');
    const [connection] = proxy.connections();
    await until(() => connection!.received.toTarget === 2, 5_000);
    expect(connection!.forwarded.toTarget).toBe(0);
    proxy.latency({ toTarget: 0 });
    await until(() => c.received() === 'ab', 5_000);
    expect(accepted[0]!.received()).toBe('ab');
  });

  it('a round trip takes at least both directions` latency', async () => {
    await start();
    proxy.latency(150);
    const c = await client();
    const sentAt = performance.now();
    c.socket.write('x');
    await until(() => c.received() === 'x', 5_000);
    expect(performance.now() - sentAt).toBeGreaterThanOrEqual(290);
  });
});

describe('blackhole', () => {
  it('eats the bytes of current and new connections and closes nothing; heal cuts the damaged ones only', async () => {
    await start();
    const before = await client();
    const intact = await client();
    proxy.blackhole();
    before.socket.write('lost');
    const after = await client();
    after.socket.write('lost too');
    await until(() => proxy.connections().every((c) => c.id === 2 || c.received.toTarget > 0), 5_000);
    expect(accepted.map((a) => a.received())).toEqual(['', '', '']);
    expect(proxy.connections().map((c) => c.isClientClosed)).toEqual([false, false, false]);
    // A close from the client is eaten too: the server never hears of it.
    after.socket.end();
    await until(() => proxy.connections().length === 2, 5_000);
    expect(accepted[2]!.socket.readableEnded).toBe(false);

    proxy.heal();
    await before.ended;
    intact.socket.write('intact\n');
    await until(() => intact.received() === 'intact\n', 5_000);
    const fresh = await client();
    fresh.socket.write('fresh\n');
    await until(() => fresh.received() === 'fresh\n', 5_000);
  });
});

describe('cuts', () => {
  it('after N bytes in one direction: exactly those reach the client, then its socket closes', async () => {
    await start();
    const cut = proxy.cutWhen({ direction: 'toClient', afterBytes: 5 });
    const c = await client();
    c.socket.write('0123456789');
    await cut;
    await c.ended;
    expect(c.received()).toBe('01234');
  });

  it('at a chunk a predicate picks, before it is forwarded or just after', async () => {
    await start();
    const before = proxy.cutWhen({ direction: 'toTarget', matches: (chunk) => chunk.includes('COMMIT') });
    const first = await client();
    first.socket.write('COMMIT');
    await before;
    await first.ended;
    expect(accepted[0]!.received()).toBe('');

    const after = proxy.cutWhen({
      direction: 'toTarget',
      matches: (chunk) => chunk.includes('COMMIT'),
      forward: true,
    });
    const second = await client();
    second.socket.write('COMMIT');
    await after;
    await second.ended;
    await until(() => accepted[1]?.received() === 'COMMIT', 5_000);
    // The server's echo came too late: the client was cut first.
    expect(second.received()).toBe('');
  });

  it('refuse: current connections are cut, new ones reset on arrival', async () => {
    await start();
    const c = await client();
    proxy.refuse();
    await c.ended;
    const refused = tcpConnect({ host: proxy.host, port: proxy.port });
    const error = await once(refused, 'error').catch((e: unknown) => [e]);
    expect(String(error[0])).toMatch(/ECONNRESET/);
    proxy.heal();
    const healed = await client();
    healed.socket.write('ok\n');
    await until(() => healed.received() === 'ok\n', 5_000);
  });
});

it('half-open: nothing is relayed and neither side hears the other close', async () => {
  await start();
  const c = await client();
  await until(() => accepted.length === 1, 5_000);
  const [connection] = proxy.connections();
  connection!.halfOpen();
  c.socket.write('unanswered');
  await until(() => connection!.received.toTarget > 0, 5_000);
  // The server goes away; the client's socket stays established and says nothing.
  accepted[0]!.socket.destroy();
  await connection!.targetClosed;
  expect(c.socket.readableEnded).toBe(false);
  expect(c.socket.destroyed).toBe(false);
  expect(c.received()).toBe('');
  // And the client's own close is not passed on: the proxy sees it, nothing else does.
  c.socket.destroy();
  await connection!.clientClosed;
  expect(proxy.connections()).toEqual([]);
});

it('reads Postgres messages across chunk boundaries: startup, then Query and Parse with their SQL', () => {
  const reader = new MessageReader('toTarget');
  const startup = Buffer.alloc(8);
  startup.writeInt32BE(8, 0);
  startup.writeInt32BE(196_608, 4);
  const typed = (type: string, body: Buffer) => {
    const header = Buffer.alloc(5);
    header.write(type, 0);
    header.writeInt32BE(body.length + 4, 1);
    return Buffer.concat([header, body]);
  };
  const query = typed('Q', Buffer.from('commit\0'));
  const parse = typed('P', Buffer.from('\0select 1 where $1\0\0\0'));
  const bytes = Buffer.concat([startup, query, parse]);
  const messages = [reader.push(bytes.subarray(0, 11)), reader.push(bytes.subarray(11))].flat();
  expect(messages.map((m) => [m.type, sqlOf(m)])).toEqual([
    ['', undefined],
    ['Q', 'commit'],
    ['P', 'select 1 where $1'],
  ]);
});
