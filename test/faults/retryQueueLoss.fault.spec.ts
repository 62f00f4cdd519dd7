import { createLogger } from '@hookpost/platform';
import { FaultRun } from '../support/faultRun';
import { deleteRetryQueues, retryingAtLeast, RETRIES_NOT_PROBED } from '../support/retryQueues';
import { readProjectorEnv } from '../../services/projector/src/env';
import { rebuildReadModel } from '../../services/projector/src/rebuild';

// RabbitMQ is a timer, not a store: with 100+ deliveries waiting for a retry, this run's retry queues are
// deleted (every waiting job with them), and the log alone brings every delivery to `succeeded` once the
// receiver recovers. Touches only this run's queues, schema and processes, so it may run beside others.
jest.setTimeout(300_000);

// Ten attempts 4 s apart (±10 %): the receiver's outage fits well inside the budget.
const SCHEDULE = '0,4000,4000,4000,4000,4000,4000,4000,4000,4000';
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

async function dispatcherMetric(run: FaultRun, name: string): Promise<number> {
  const text = await (await fetch(`http://127.0.0.1:${run.services.get('dispatcher')!.port}/metrics`)).text();
  return text
    .split('\n')
    .filter((line) => line.startsWith(name))
    .reduce((sum, line) => sum + Number(line.split(' ').pop()), 0);
}

/** 150 webhooks to a receiver answering 500 until told otherwise; resolves once 100+ are `retrying`. */
async function retriesWaiting(run: FaultRun): Promise<{ recoverAfter: (ms: number) => void; retrying: number }> {
  let recoverAt = Number.POSITIVE_INFINITY;
  run.receiver.reply = () => (Date.now() < recoverAt ? { status: 500 } : { status: 200 });
  await run.load(30, 5);
  const retrying = await retryingAtLeast(run.run.schema, 100);
  return { retrying, recoverAfter: (ms) => void (recoverAt = Date.now() + ms) };
}

function expectExactLedger(ledger: Awaited<ReturnType<FaultRun['ledger']>>): void {
  expect(ledger.accepted).toBe(150);
  expect(ledger).toMatchObject({
    rows: ledger.accepted,
    succeeded: ledger.accepted,
    missingRows: 0,
    lost: 0,
    unsettled: 0,
    attemptGaps: 0,
    // No process crashed: the attempt guard lets no retry through twice, although the reconciler re-publishes.
    duplicatesReceived: 0,
  });
}

describe('retry queues lost with 100+ retries waiting', () => {
  it('when the run’s retry queues are deleted: every delivery still succeeds once the receiver recovers', async () => {
    const run = await FaultRun.start({ HOOKPOST_RETRY_SCHEDULE_MS: SCHEDULE, ...RETRIES_NOT_PROBED });
    try {
      // Given 100+ deliveries waiting for a retry in RabbitMQ
      const { retrying, recoverAfter } = await retriesWaiting(run);

      // When the retry queues and exchange are deleted, with every job in them
      const { messages } = await deleteRetryQueues(run.run.env);
      // and the receiver keeps failing a while (so re-scheduled retries fail and retry again), then recovers
      recoverAfter(6_000);

      // Then the ledger is exact: every accepted webhook delivered, none lost, none twice
      const ledger = await run.ledger(180_000);
      const reconciled = await dispatcherMetric(run, 'hookpost_retries_reconciled_total');
      console.log(`fault retry queues deleted: ${JSON.stringify({ ...ledger, retryingAtDeletion: retrying, jobsDeleted: messages, reconciled })}`);
      expect(messages).toBeGreaterThan(0);
      expect(reconciled).toBeGreaterThan(0);
      expectExactLedger(ledger);
    } finally {
      await run.stop();
    }
  });

  it('when the read model is rebuilt while they wait, and the queues are lost meanwhile: retries still happen after the rebuild', async () => {
    const run = await FaultRun.start({ HOOKPOST_RETRY_SCHEDULE_MS: SCHEDULE, ...RETRIES_NOT_PROBED });
    try {
      // Given 100+ deliveries waiting for a retry
      const { retrying, recoverAfter } = await retriesWaiting(run);

      // When the projector is stopped, the read model rebuilt from the log (npm run rebuild does the same),
      // and RabbitMQ loses the waiting jobs while the read model is being rebuilt
      await run.services.get('projector')!.stop();
      const { messages } = await deleteRetryQueues(run.run.env);
      await rebuildReadModel(readProjectorEnv({ ...process.env, ...run.run.env }), createLogger('rebuild', 'warn'));
      await sleep(1_000);
      await run.startService('projector');
      recoverAfter(3_000);

      // Then every waiting retry is made from the rebuilt read model, and the ledger is exact
      const ledger = await run.ledger(180_000);
      const reconciled = await dispatcherMetric(run, 'hookpost_retries_reconciled_total');
      console.log(`fault rebuild with retries waiting: ${JSON.stringify({ ...ledger, retryingAtRebuild: retrying, jobsDeleted: messages, reconciled })}`);
      expect(reconciled).toBeGreaterThan(0);
      expectExactLedger(ledger);
    } finally {
      await run.stop();
    }
  });
});
