import { Client } from 'pg';
import { fromExternalId } from '@hookpost/contracts';
import { FaultRun } from '../support/faultRun';
import { spawnService, type ServiceProcess } from '../support/processes';
import type { ReceivedRequest } from '../support/receiver';

// An ordered endpoint under load, its receiver failing some requests (so the lane's head keeps retrying),
// with two dispatchers as processes, each killed with SIGKILL once mid-retries and started again: whichever
// held the lane at its kill, the other (or its restart) takes the head from RabbitMQ and goes on from what
// the log recorded. Runs alone (fault tier).
jest.setTimeout(300_000);

const DATABASE_URL = process.env.DATABASE_URL ?? 'postgres://hookpost:hookpost@127.0.0.1:5432/hookpost';
const MESSAGES = 300;
const RATE_PER_SECOND = 30;

async function json(response: Response): Promise<any> {
  const text = await response.text();
  return text ? JSON.parse(text) : undefined;
}

const seqOf = (request: ReceivedRequest) => (JSON.parse(request.body) as { seq: number }).seq;
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe('an ordered endpoint survives its dispatcher', () => {
  it('keeps message order with no gap and nothing lost when dispatchers are killed with SIGKILL during the head\'s retries', async () => {
    // Given two dispatchers and an ordered endpoint whose receiver fails every 5th request and is slow at times
    const run = await FaultRun.start({ HOOKPOST_LANE_POLL_MS: '200', HOOKPOST_LANE_DISCOVERY_MS: '1000' });
    let second: ServiceProcess | undefined;
    try {
      second = await spawnService('dispatcher', run.env());
      run.receiver.reply = (_request, n) => (n % 5 === 0 ? { status: 500, body: 'try again' } : { status: 200, ...(n % 7 === 0 ? { delayMs: 100 } : {}) });
      const app = await json(await run.call('POST', '/api/v1/app', { name: 'fault: ordered' }));
      const endpoint = await json(await run.call('POST', `/api/v1/app/${app.id}/endpoint`, { url: run.receiver.url, ordered: true }));
      expect(endpoint.ordered).toBe(true);

      // When 300 messages with a sequence number are sent at 30 a second, and a third of the way through each
      // dispatcher in turn is killed with SIGKILL while the head is being retried, and started again
      const accepted: number[] = [];
      const start = Date.now();
      const kills: { dispatcher: string; receivedBefore: number; headRetrying: boolean }[] = [];
      const faults = (async () => {
        await sleep((MESSAGES / RATE_PER_SECOND / 3) * 1_000);
        for (const which of ['first', 'second'] as const) {
          // (just after a failed request: the head has a retry waiting)
          const failedBefore = run.receiver.requests.filter((request) => request.answered === 500).length;
          const deadline = Date.now() + 10_000;
          while (run.receiver.requests.filter((request) => request.answered === 500).length === failedBefore && Date.now() < deadline) await sleep(10);
          kills.push({ dispatcher: which, receivedBefore: run.receiver.requests.length, headRetrying: Date.now() < deadline });
          if (which === 'first') await run.restart('dispatcher', 'SIGKILL');
          else {
            await second!.stop('SIGKILL');
            second = await spawnService('dispatcher', run.env());
          }
          await sleep(1_500);
        }
      })();
      for (let seq = 0; seq < MESSAGES; seq += 1) {
        const wait = start + (seq * 1_000) / RATE_PER_SECOND - Date.now();
        if (wait > 0) await sleep(wait);
        // One after the other in the log: each is accepted (202) before the next is sent.
        const response = await run.call('POST', `/api/v1/app/${app.id}/msg`, { eventType: 'fault.ordered', payload: { seq } });
        expect(response.status).toBe(202);
        await response.arrayBuffer();
        accepted.push(seq);
      }
      await faults;

      // Then every message is accepted by the receiver, in order, with no gap
      const acceptedAtReceiver = () => run.receiver.requests.filter((request) => request.answered !== undefined && request.answered < 300).map(seqOf);
      const deadline = Date.now() + 180_000;
      while (new Set(acceptedAtReceiver()).size < MESSAGES && Date.now() < deadline) await sleep(250);
      const received = acceptedAtReceiver();
      // (a SIGKILL between a request and its record repeats that one request: a duplicate of the head just before)
      const deduplicated = received.filter((seq, index) => index === 0 || seq !== received[index - 1]);
      const duplicates = received.length - deduplicated.length;
      let done = -1;
      let outOfOrder = 0;
      for (const request of run.receiver.requests) {
        const seq = seqOf(request);
        if (seq !== done && seq !== done + 1) outOfOrder += 1;
        if (request.answered !== undefined && request.answered < 300 && seq === done + 1) done = seq;
      }
      // and the read model's ledger is exact: every delivery succeeded
      const db = new Client({ connectionString: DATABASE_URL, options: `-c search_path=${run.run.schema}` });
      await db.connect();
      let statuses: Record<string, number> = {};
      try {
        const until = Date.now() + 30_000;
        do {
          const rows = (await db.query<{ status: string; count: string }>(
            `SELECT d.status, count(*) AS count FROM webhook_deliveries d JOIN subscriptions s ON s.id = d.subscription_id WHERE s.app_id = $1 GROUP BY d.status`,
            [fromExternalId('app', app.id)],
          )).rows;
          statuses = Object.fromEntries(rows.map((row) => [row.status, Number(row.count)]));
          if (statuses.succeeded === MESSAGES) break;
          await sleep(500);
        } while (Date.now() < until);
      } finally {
        await db.end();
      }
      const figures = { accepted: accepted.length, requests: run.receiver.requests.length, received: received.length, duplicates, outOfOrder, kills, statuses };
      console.log(`fault ordered SIGKILL: ${JSON.stringify(figures)}`);
      expect(accepted).toHaveLength(MESSAGES);
      expect(deduplicated).toEqual(Array.from({ length: MESSAGES }, (_, i) => i));
      expect(outOfOrder).toBe(0);
      expect(statuses).toEqual({ succeeded: MESSAGES });
      expect(duplicates).toBeLessThanOrEqual(kills.length);
      expect(kills.every((kill) => kill.headRetrying)).toBe(true);
    } finally {
      await second?.stop();
      await run.stop();
    }
  });
});
