import { FaultRun } from '../support/faultRun';

// A replay from the log while the dispatcher running it is killed with SIGKILL. Runs alone (fault tier).
jest.setTimeout(300_000);

const MESSAGES = 300;
const FANOUT = 4;

async function json(response: Response): Promise<any> {
  const text = await response.text();
  return text ? JSON.parse(text) : undefined;
}

describe('a background task survives its dispatcher', () => {
  it('carries a replay from the log on after a SIGKILL: every message arrives, at most the attempts in flight twice', async () => {
    // Given an application with 300 messages, and an endpoint (slow: 50 ms an answer) that only a replay reaches
    const run = await FaultRun.start({ DISPATCHER_FANOUT_CONCURRENCY: String(FANOUT), HOOKPOST_TASK_CHECKPOINT_MESSAGES: '10', HOOKPOST_TASK_CHECKPOINT_MS: '200' });
    try {
      const app = await json(await run.call('POST', '/api/v1/app', { name: 'fault: replay' }));
      const since = new Date(Date.now() - 1_000).toISOString();
      const sent: string[] = [];
      for (let n = 0; n < MESSAGES; n += 1) sent.push((await json(await run.call('POST', `/api/v1/app/${app.id}/msg`, { eventType: 'fault.replay', payload: { n } }))).id);
      run.receiver.reply = () => ({ status: 200, delayMs: 50 });
      const endpoint = await json(await run.call('POST', `/api/v1/app/${app.id}/endpoint`, { url: run.receiver.url, filterTypes: ['never.sent'] }));

      // When a replay from the log starts and its dispatcher is killed a sixth of the way through
      const task = await json(await run.call('POST', `/api/v1/app/${app.id}/endpoint/${endpoint.id}/replay-from-log`, { since }));
      const deadline = Date.now() + 60_000;
      while (run.receiver.requests.length < MESSAGES / 6 && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 50));
      const killedAfter = run.receiver.requests.length;
      await run.restart('dispatcher', 'SIGKILL');

      // Then the task finishes on the new dispatcher, and every message arrived
      let state: any;
      const until = Date.now() + 120_000;
      do {
        await new Promise((resolve) => setTimeout(resolve, 500));
        state = await json(await run.call('GET', `/api/v1/background-task/${task.id}`));
      } while (state?.status === 'running' && Date.now() < until);
      await new Promise((resolve) => setTimeout(resolve, 2_000));
      const ids = run.receiver.requests.map((request) => String(request.headers['webhook-id']));
      const distinct = new Set(ids);
      const figures = { killedAfter, requests: ids.length, distinct: distinct.size, duplicates: ids.length - distinct.size, task: state };
      console.log(`fault replay SIGKILL: ${JSON.stringify(figures)}`);
      expect(state).toMatchObject({ status: 'finished', data: { state: 'finished' } });
      expect(sent.filter((id) => !distinct.has(id))).toEqual([]);
      expect([...distinct].filter((id) => !sent.includes(id))).toEqual([]);
      // A SIGKILL can cut an attempt between its request and its record: at most the attempts in flight repeat.
      expect(ids.length - distinct.size).toBeLessThanOrEqual(FANOUT);
    } finally {
      await run.stop();
    }
  });
});
