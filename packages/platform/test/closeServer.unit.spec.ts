import type { AddressInfo } from 'node:net';
import express from 'express';
import { Pool } from 'undici';
import { closeServer } from '../src/runService';

describe('closeServer', () => {
  it('closes promptly while a keep-alive client keeps sending, answering the requests it took', async () => {
    // Given a server and a client sending a request every 20 ms over 4 kept-alive connections
    let received = 0;
    let closing: Promise<number> | undefined;
    const app = express();
    app.post('/ingest', async (_req, res) => {
      received += 1;
      // When it is closed mid-load, with this request still being answered (its connection busy)
      if (received === 25) {
        const started = Date.now();
        closing = closeServer(server).then(() => Date.now() - started);
      }
      await new Promise((resolve) => setTimeout(resolve, 5));
      res.status(202).json({ status: 'pending' });
    });
    const server = app.listen(0, '127.0.0.1');
    await new Promise((resolve) => server.once('listening', resolve));
    const pool = new Pool(`http://127.0.0.1:${(server.address() as AddressInfo).port}`, { connections: 4 });
    const answers: number[] = [];
    let sending = true;
    const load = (async () => {
      const sends: Promise<void>[] = [];
      while (sending) {
        sends.push(
          pool.request({ method: 'POST', path: '/ingest', body: '{}' }).then(
            async (answer) => {
              await answer.body.dump();
              answers.push(answer.statusCode);
            },
            () => undefined, // refused once the server stopped listening: never taken
          ),
        );
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
      await Promise.all(sends);
    })();
    while (!closing) await new Promise((resolve) => setTimeout(resolve, 10));
    const closingMs = await Promise.race([closing, new Promise<number>((resolve) => setTimeout(() => resolve(Infinity), 10_000))]);
    sending = false;
    await load;
    await pool.close();

    // Then it closed at once (not when the client stopped using its connection), and answered all it took
    expect(closingMs).toBeLessThan(1_000);
    expect(answers.length).toBeGreaterThan(10);
    expect(answers.every((status) => status === 202)).toBe(true);
  });
});
