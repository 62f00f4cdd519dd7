import { randomUUID } from 'node:crypto';
import http from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { createPool } from '../../services/projector/src/adapters/pgPool';
import { startStack, type Stack } from '../support/stack';

jest.setTimeout(90_000);

/**
 * Internal calls end in bounded time: a statement in the read model, and the gateway's calls to a projector
 * that accepts them and never answers. (The Redis bound is shown in packages/platform/test/redisReplyDeadline.)
 */
const DATABASE_URL = process.env.DATABASE_URL ?? 'postgres://hookpost:hookpost@127.0.0.1:5432/hookpost';

describe('bounded internal calls', () => {
  it("ends a read-model statement after 30 s and a transaction left idle after 60 s (the projector's pool)", async () => {
    const pool = createPool(DATABASE_URL, 'public', 1);
    try {
      expect((await pool.query('SHOW statement_timeout')).rows[0].statement_timeout).toBe('30s');
      expect((await pool.query('SHOW idle_in_transaction_session_timeout')).rows[0].idle_in_transaction_session_timeout).toBe('1min');
    } finally {
      await pool.end();
    }
  });

  describe('a projector that accepts requests and never answers', () => {
    let stack: Stack;
    let projector: http.Server;
    const sockets = new Set<Socket>();

    beforeAll(async () => {
      stack = await startStack();
      projector = http.createServer(() => undefined);
      projector.on('connection', (socket) => (sockets.add(socket), socket.once('close', () => sockets.delete(socket))));
      await new Promise<void>((resolve) => projector.listen(0, '127.0.0.1', resolve));
      await stack.restart('gateway', { PROJECTOR_URL: `http://127.0.0.1:${(projector.address() as AddressInfo).port}` });
    });

    afterAll(async () => {
      for (const socket of sockets) socket.destroy();
      projector?.close();
      await stack?.stop();
    });

    it('holds neither a forwarded read nor an ingest past 15 s: both are a 503 with Retry-After', async () => {
      const timed = async (call: Promise<Awaited<ReturnType<Stack['api']>>>) => {
        const started = Date.now();
        const answer = await call;
        return { status: answer.status, retryAfter: answer.headers.get('retry-after'), ms: Date.now() - started };
      };
      // (side by side: each waits out the same 15 s bound)
      const [read, ingest] = await Promise.all([
        timed(stack.api('GET', '/subscriptions')),
        // a subscription the cache does not hold: the gateway asks the projector for it
        timed(stack.api('POST', `/ingest/${randomUUID()}`, { event_type: 'a.b' })),
      ]);
      expect(read).toMatchObject({ status: 503, retryAfter: '5' });
      expect(ingest).toMatchObject({ status: 503, retryAfter: '5' });
      for (const { ms } of [read, ingest]) {
        expect(ms).toBeGreaterThanOrEqual(14_000);
        expect(ms).toBeLessThan(25_000);
      }
    });
  });
});
