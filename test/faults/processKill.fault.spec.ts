import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { promisify } from 'node:util';
import path from 'node:path';
import { FaultRun } from '../support/faultRun';

// Breaks things on purpose under steady load, then holds the run to an exact ledger. Runs alone (fault tier).
jest.setTimeout(300_000);

const ROOT = path.resolve(__dirname, '../..');
const STATE = process.env.HOOKPOST_STATE_DIR ?? path.join(ROOT, '.hookpost');

function report(name: string, figures: object): void {
  console.log(`fault ${name}: ${JSON.stringify(figures)}`);
}

describe('no accepted webhook is lost', () => {
  it('when the dispatcher is killed with SIGKILL mid-load and restarted', async () => {
    const run = await FaultRun.start();
    try {
      let recoveredMs = 0;
      await run.load(40, 10, async () => {
        const killedAt = Date.now();
        await run.restart('dispatcher', 'SIGKILL');
        recoveredMs = Date.now() - killedAt;
      });
      const ledger = await run.ledger();
      report('dispatcher SIGKILL', { ...ledger, restartMs: recoveredMs });
      expect(ledger.accepted).toBe(400);
      expect(ledger).toMatchObject({ rows: ledger.accepted, succeeded: ledger.accepted, missingRows: 0, lost: 0, unsettled: 0, attemptGaps: 0 });
    } finally {
      await run.stop();
    }
  });

  it('when Kafka restarts mid-load: 503 while it is down, never a 202 that is then lost', async () => {
    const run = await FaultRun.start();
    try {
      let downMs = 0;
      let readWhileDown: { status: number; retryAfter: string | null; ms: number } | undefined;
      await run.load(30, 20, async () => {
        const pid = Number(readFileSync(path.join(STATE, 'run', 'kafka.started'), 'utf8'));
        const stoppedAt = Date.now();
        process.kill(pid, 'SIGTERM');
        while (Date.now() - stoppedAt < 60_000) {
          try {
            process.kill(pid, 0);
            await new Promise((resolve) => setTimeout(resolve, 100));
          } catch {
            break;
          }
        }
        // A read cannot know where the log ends: it is a 503 with Retry-After in bounded time, never stale.
        const readAt = Date.now();
        const read = await run.call('GET', `/subscriptions/${run.subscriptionId}`);
        readWhileDown = { status: read.status, retryAfter: read.headers.get('retry-after'), ms: Date.now() - readAt };
        await read.arrayBuffer();
        await new Promise((resolve) => setTimeout(resolve, 2_000));
        // Not execFileSync: blocking this process would stall the load generator itself, and its requests'
        // client-side timeouts would fire before it read the answers that came meanwhile.
        await promisify(execFile)('bash', [path.join(ROOT, 'infra/local.sh'), 'up'], { timeout: 180_000 });
        downMs = Date.now() - stoppedAt;
      });
      const ledger = await run.ledger(120_000);
      report('Kafka restart', { ...ledger, kafkaDownMs: downMs, readWhileDown });
      expect(readWhileDown).toMatchObject({ status: 503, retryAfter: '1' });
      expect(readWhileDown!.ms).toBeLessThan(7_000);
      expect(ledger.accepted).toBeGreaterThan(0);
      expect(ledger).toMatchObject({ rows: ledger.accepted, missingRows: 0, lost: 0, unsettled: 0, attemptGaps: 0 });
      expect(ledger.succeeded).toBe(ledger.accepted);
      // Every request was answered 202 or 503 (with Retry-After), never left hanging.
      expect(Object.keys(ledger.answers).sort()).toEqual(expect.arrayContaining(['202']));
      expect(Object.keys(ledger.answers).every((status) => status === '202' || status === '503')).toBe(true);
    } finally {
      await run.stop();
    }
  });
});
