import { randomBytes } from 'node:crypto';
import net from 'node:net';
import { createRedis } from '../src/connections';
import { createLogger } from '../src/logger';
import { RedisSubscriptionCache, type RedisClient } from '../src/subscriptionDirectory';

const BOUND_MS = 300;
// (a timer fires a little late on a busy machine; a call that hung would never settle at all)
const SLACK_MS = 700;
const REDIS_URL = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
const log = createLogger('redis-deadline-test', 'silent');
const subscriptionId = '11111111-1111-4111-8111-111111111111';

/** Listens on 127.0.0.1 (any free port); `onSocket` gets each accepted connection. */
async function serve(onSocket: (socket: net.Socket) => void): Promise<{ port: number; accepted: () => number; close: () => Promise<void> }> {
  const sockets = new Set<net.Socket>();
  let accepted = 0;
  const server = net.createServer((socket) => {
    accepted += 1;
    sockets.add(socket);
    socket.on('error', () => undefined);
    socket.once('close', () => sockets.delete(socket));
    onSocket(socket);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    port: (server.address() as net.AddressInfo).port,
    accepted: () => accepted,
    close: () => {
      for (const socket of sockets) socket.destroy();
      return new Promise((resolve) => server.close(() => resolve()));
    },
  };
}

/** How long `call` took to reject, and with what. */
async function rejection(call: Promise<unknown>): Promise<{ ms: number; message: string }> {
  const started = Date.now();
  try {
    await call;
  } catch (error) {
    return { ms: Date.now() - started, message: (error as Error).message };
  }
  throw new Error('the call settled with an answer');
}

const redisAt = (port: number) => {
  const url = new URL(REDIS_URL);
  url.port = String(port);
  return url.href;
};

describe('Redis calls are bounded (HOOKPOST_REDIS_REPLY_TIMEOUT_MS)', () => {
  let client: RedisClient | undefined;
  afterEach(() => {
    if (client?.isOpen) client.destroy();
    client = undefined;
  });

  it('fails a cache read within the bound when the peer accepts the connection and never answers', async () => {
    // Given a TCP peer on loopback that accepts and never writes a byte
    const peer = await serve(() => undefined);
    try {
      client = createRedis({ REDIS_URL: redisAt(peer.port), HOOKPOST_REDIS_REPLY_TIMEOUT_MS: BOUND_MS }, log);
      // (connecting waits for its handshake's answer, so it never completes: it is left to run)
      void client.connect().catch(() => undefined);
      while (peer.accepted() === 0) await new Promise((resolve) => setTimeout(resolve, 10));

      // When a request reads the subscription cache
      const { ms, message } = await rejection(new RedisSubscriptionCache(client, 'deadline:').get(subscriptionId));

      // Then it fails once the bound has passed, not later (and not never)
      // (the connection is not ready, so whichever bound fires first: node-redis's for an unsent command, or ours)
      expect(message).toMatch(/^Redis get: (not sent|no answer) within 300 ms/);
      expect(ms).toBeGreaterThanOrEqual(BOUND_MS - 5);
      expect(ms).toBeLessThan(BOUND_MS + SLACK_MS);
    } finally {
      await peer.close();
    }
  });

  it('fails a call already sent within the bound when Redis stops answering, and matches every later reply to its call', async () => {
    // Given a connection to the real Redis through a relay on loopback that can hold Redis's replies back
    let stalled = false;
    const held: Buffer[] = [];
    const toClients: net.Socket[] = [];
    const relay = await serve((socket) => {
      const upstream = net.connect({ host: new URL(REDIS_URL).hostname, port: Number(new URL(REDIS_URL).port || 6379) });
      upstream.on('error', () => socket.destroy());
      socket.on('data', (chunk: Buffer) => upstream.write(chunk));
      socket.once('close', () => upstream.destroy());
      upstream.on('data', (chunk: Buffer) => (stalled ? held.push(chunk) : socket.write(chunk)));
      toClients.push(socket);
    });
    const prefix = `deadline${randomBytes(6).toString('hex')}:`;
    try {
      client = createRedis({ REDIS_URL: redisAt(relay.port), HOOKPOST_REDIS_REPLY_TIMEOUT_MS: BOUND_MS }, log);
      await client.connect();
      await client.set(`${prefix}a`, 'A');
      await client.set(`${prefix}b`, 'B');

      // When Redis's answers stop coming (the commands reach it: they are on the socket)
      stalled = true;
      const { ms, message } = await rejection(client.get(`${prefix}a`));

      // Then the call fails once the bound has passed
      expect(message).toBe('Redis get: no answer within 300 ms');
      expect(ms).toBeGreaterThanOrEqual(BOUND_MS - 5);
      expect(ms).toBeLessThan(BOUND_MS + SLACK_MS);
      // and the script the hot path runs too
      const cache = new RedisSubscriptionCache(client, prefix);
      expect((await rejection(cache.put({ id: subscriptionId, version: 1, deleted: true }))).message).toBe('Redis eval: no answer within 300 ms');

      // and once the answers come again, the late ones are dropped and each new call gets its own
      stalled = false;
      for (const socket of toClients) for (const chunk of held.splice(0)) socket.write(chunk);
      expect(await client.get(`${prefix}b`)).toBe('B');
      expect(await cache.get(subscriptionId)).toEqual({ id: subscriptionId, version: 1, deleted: true });
      await client.del([`${prefix}a`, `${prefix}b`, cache.key(subscriptionId)]);
    } finally {
      await relay.close();
    }
  });
});
