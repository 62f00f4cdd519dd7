import { execFile } from 'node:child_process';
import path from 'node:path';
import { promisify } from 'node:util';
import { fromExternalId } from '@hookpost/contracts';
import { FaultRun } from '../support/faultRun';
import { spawnService, type ServiceProcess } from '../support/processes';
import { Receiver } from '../support/receiver';
import { mostWithin } from '../support/rateWindow';
import { withReadModel } from '../support/readModel';
import { eventually } from '../support/wait';

// Restarts the shared Redis (every rate-limit bucket, attempt claim and cache goes with it, as in a crash
// of a Redis without persistence): runs alone, in the fault tier.
jest.setTimeout(300_000);

const ROOT = path.resolve(__dirname, '../..');
// Commands run asynchronously: blocking this process would stall the load generator it also runs.
const exec = promisify(execFile);
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * Redis stopped without saving (its state is gone), down for 3 s, then started again by infra/local.sh.
 * `stopped` is when it was surely down (the shutdown had returned), `back` when infra/local.sh had it up again.
 */
async function restartRedis(): Promise<{ stopped: number; back: number }> {
  // (with the checkout's password, from the URL infra/local.sh wrote)
  const password = decodeURIComponent(new URL(process.env.REDIS_URL ?? 'redis://127.0.0.1:6379').password);
  await exec('redis-cli', ['-h', '127.0.0.1', 'shutdown', 'nosave'], { env: { ...process.env, REDISCLI_AUTH: password } }).catch(() => undefined);
  const stopped = Date.now();
  await sleep(3_000);
  await exec('bash', [path.join(ROOT, 'infra/local.sh'), 'up'], { timeout: 180_000 });
  return { stopped, back: Date.now() };
}

describe('rate limits through a Redis restart', () => {
  it('loses nothing, sends nothing unthrottled while Redis is down, and keeps the limit once it is back', async () => {
    const LIMIT = 5;
    const run = await FaultRun.start();
    const receivers = [await Receiver.start(), await Receiver.start()];
    const [limited, unlimited] = receivers as [Receiver, Receiver];
    let second: ServiceProcess | undefined;
    try {
      // Given two dispatchers, and an application with an endpoint limited to 5/s and one without a limit
      second = await spawnService('dispatcher', { ...run.run.env, PROJECTOR_URL: `http://127.0.0.1:${run.services.get('projector')!.port}` });
      const app = (await (await run.call('POST', '/api/v1/app', { name: 'rate-limited fault' })).json()) as { id: string };
      const limitedEndpoint = (await (await run.call('POST', `/api/v1/app/${app.id}/endpoint`, { url: limited.url, throttleRate: LIMIT })).json()) as { id: string };
      const unlimitedEndpoint = (await (await run.call('POST', `/api/v1/app/${app.id}/endpoint`, { url: unlimited.url })).json()) as { id: string };

      // When messages come at 8/s for 15 s (a backlog builds at the limited endpoint), and Redis restarts 5 s in
      const accepted: string[] = [];
      const answers: Record<string, number> = {};
      const sends: Promise<void>[] = [];
      const fault = sleep(5_000).then(restartRedis);
      const start = Date.now();
      for (let n = 0; n < 8 * 15; n += 1) {
        const wait = start + n * 125 - Date.now();
        if (wait > 0) await sleep(wait);
        sends.push(
          run
            .call('POST', `/api/v1/app/${app.id}/msg`, { eventType: 'rate.fault', payload: { n } })
            .then(async (response) => {
              answers[response.status] = (answers[response.status] ?? 0) + 1;
              if (response.status === 202) accepted.push(((await response.json()) as { id: string }).id);
              else await response.arrayBuffer();
            })
            .catch(() => void (answers['no answer'] = (answers['no answer'] ?? 0) + 1)),
        );
      }
      await Promise.all(sends);
      const redis = await fault;

      // Then every accepted message reaches both endpoints
      const seen = (receiver: Receiver) => new Set(receiver.requests.map((request) => String(request.headers['webhook-id'])));
      await eventually(async () => (accepted.every((id) => seen(limited).has(id) && seen(unlimited).has(id)) ? true : undefined), {
        what: 'every accepted message at both endpoints',
        timeoutMs: 150_000,
        intervalMs: 500,
      });
      await sleep(2_000);
      const arrivals = limited.requests.map((request) => request.at);
      const duplicates = (receiver: Receiver) => receiver.requests.length - seen(receiver).size;
      // (an attempt that took its slot before Redis went may still be sent within its 250 ms window)
      const sentWhileDown = arrivals.filter((at) => at > redis.stopped + 500 && at < redis.stopped + 3_000).length;
      const afterBack = arrivals.filter((at) => at >= redis.back);
      console.log(
        `fault Redis restart under a rate limit: ${JSON.stringify({
          accepted: accepted.length,
          answers,
          redisDownMs: redis.back - redis.stopped,
          limitedAfterBack: afterBack.length,
          limitedRequests: limited.requests.length,
          mostInOneSecond: mostWithin(arrivals),
          mostInOneSecondAfterBack: mostWithin(afterBack),
          sentWhileDown,
          duplicates: { limited: duplicates(limited), unlimited: duplicates(unlimited) },
        })}`,
      );
      expect(accepted.length).toBeGreaterThan(0);
      // nothing went unthrottled: not while Redis was down (beyond the slots taken before it went), not after
      expect(mostWithin(arrivals)).toBeLessThanOrEqual(LIMIT + 1);
      expect(afterBack.length).toBeGreaterThan(20);
      expect(mostWithin(afterBack)).toBeLessThanOrEqual(LIMIT + 1);
      expect(sentWhileDown).toBe(0);
      // and the read model agrees: every delivery of every accepted message succeeded, none lost or failed
      await eventually(
        async () => {
          const rows = await withReadModel(run.run.schema, async (client) =>
            (await client.query<{ status: string }>('SELECT status FROM webhook_deliveries WHERE subscription_id = ANY($1::uuid[])', [
              [limitedEndpoint.id, unlimitedEndpoint.id].map((id) => fromExternalId('ep', id)!),
            ])).rows,
          );
          return rows.length === 2 * accepted.length && rows.every((row) => row.status === 'succeeded') ? rows : undefined;
        },
        { what: 'every delivery succeeded in the read model', timeoutMs: 60_000, intervalMs: 500 },
      );
    } finally {
      await second?.stop();
      for (const receiver of receivers) await receiver.stop();
      await run.stop();
    }
  });
});
