import { execFileSync } from 'node:child_process';
import { rmSync } from 'node:fs';
import path from 'node:path';
import { FaultRun } from '../support/faultRun';
import { retryingAtLeast, RETRIES_NOT_PROBED } from '../support/retryQueues';
import { eventually } from '../support/wait';

// Wipes the SHARED RabbitMQ: stops the broker, deletes its data directory, starts it empty. Every queue of
// every run on this machine goes with it, so this runs alone (npm run test:faults runs the fault tier in
// band, after the others). With 100+ deliveries waiting for a retry, the log alone must bring every one of
// them to `succeeded` once the receiver recovers.
jest.setTimeout(420_000);

const ROOT = path.resolve(__dirname, '../..');
const SCHEDULE = '0,4000,4000,4000,4000,4000,4000,4000,4000,4000';
const rabbitmqctl = (...args: string[]) =>
  execFileSync('rabbitmqctl', ['-q', ...args], { env: { ...process.env, RABBITMQ_NODENAME: 'rabbit@localhost' }, encoding: 'utf8', timeout: 120_000 });
const infraUp = () => execFileSync('bash', [path.join(ROOT, 'infra/local.sh'), 'up'], { stdio: 'ignore', timeout: 180_000 });

/** The running node's own data directory (…/mnesia/rabbit@localhost), asked of the node itself. */
function rabbitDataDir(): string {
  const dir = JSON.parse(rabbitmqctl('eval', 'rabbit_mnesia:dir().').trim()) as unknown;
  // Refuse anything but an absolute path to this node's folder: this is about to be deleted.
  if (typeof dir !== 'string' || !path.isAbsolute(dir) || path.basename(dir) !== 'rabbit@localhost') throw new Error(`unexpected RabbitMQ data directory ${String(dir)}`);
  return dir;
}

async function dispatcherMetric(run: FaultRun, name: string): Promise<number> {
  const text = await (await fetch(`http://127.0.0.1:${run.services.get('dispatcher')!.port}/metrics`)).text();
  return text
    .split('\n')
    .filter((line) => line.startsWith(name))
    .reduce((sum, line) => sum + Number(line.split(' ').pop()), 0);
}

describe('RabbitMQ wiped with 100+ retries waiting', () => {
  afterAll(() => {
    // Whatever happened, leave a broker running for whoever comes next.
    infraUp();
  });

  it('loses no delivery: the reconciler re-schedules every waiting retry from the log', async () => {
    const run = await FaultRun.start({ HOOKPOST_RETRY_SCHEDULE_MS: SCHEDULE, ...RETRIES_NOT_PROBED });
    try {
      // Given 100+ deliveries waiting for a retry in RabbitMQ
      let recoverAt = Number.POSITIVE_INFINITY;
      run.receiver.reply = () => (Date.now() < recoverAt ? { status: 500 } : { status: 200 });
      await run.load(30, 5);
      const retrying = await retryingAtLeast(run.run.schema, 100);

      // When the broker is stopped, its data deleted, and it is started again, empty
      const dataDir = rabbitDataDir();
      const wipedAt = Date.now();
      rabbitmqctl('shutdown');
      // The node's database, message stores and quorum logs, and the files named after it beside them.
      for (const data of [dataDir, `${dataDir}-feature_flags`, `${dataDir}-plugins-expand`]) rmSync(data, { recursive: true, force: true });
      infraUp();
      const downMs = Date.now() - wipedAt;
      // the dispatcher comes back (reconnects, re-declares its queues); the receiver recovers a little later
      await eventually(async () => ((await fetch(`http://127.0.0.1:${run.services.get('dispatcher')!.port}/readyz`)).status === 200 ? true : undefined), {
        what: 'the dispatcher ready again',
        timeoutMs: 60_000,
        intervalMs: 250,
      });
      recoverAt = Date.now() + 6_000;

      // Then the ledger is exact: every accepted webhook delivered, none lost, none twice
      const ledger = await run.ledger(240_000);
      const reconciled = await dispatcherMetric(run, 'hookpost_retries_reconciled_total');
      console.log(`fault RabbitMQ wiped: ${JSON.stringify({ ...ledger, retryingAtWipe: retrying, rabbitDownMs: downMs, reconciled })}`);
      expect(reconciled).toBeGreaterThan(0);
      expect(ledger.accepted).toBe(150);
      expect(ledger).toMatchObject({ rows: ledger.accepted, succeeded: ledger.accepted, missingRows: 0, lost: 0, unsettled: 0, attemptGaps: 0, duplicatesReceived: 0 });
    } finally {
      await run.stop();
    }
  });
});
