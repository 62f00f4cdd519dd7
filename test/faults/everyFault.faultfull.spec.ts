import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import { createLogger } from '@hookpost/platform';
import { FaultRun } from '../support/faultRun';
import { snapshotReadModel } from '../support/readModel';
import { readProjectorEnv } from '../../services/projector/src/env';
import { rebuildReadModel } from '../../services/projector/src/rebuild';

// The whole fault suite (npm run test:faults): every process killed, every broker restarted, every
// service stopped with SIGTERM, under steady load, each held to the exact ledger. Runs alone.
jest.setTimeout(600_000);

const ROOT = path.resolve(__dirname, '../..');
const STATE = process.env.HOOKPOST_STATE_DIR ?? path.join(ROOT, '.hookpost');
// Commands run asynchronously: blocking this process would stall the load generator it also runs.
const exec = promisify(execFile);
const infraUp = () => exec('bash', [path.join(ROOT, 'infra/local.sh'), 'up'], { timeout: 180_000 });
const rabbitmqctl = (...args: string[]) => exec('rabbitmqctl', ['-q', ...args], { env: { ...process.env, RABBITMQ_NODENAME: 'rabbit@localhost' }, timeout: 120_000 });
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

const brokers: Record<string, () => Promise<void>> = {
  RabbitMQ: async () => {
    await rabbitmqctl('stop_app');
    await sleep(3_000);
    await rabbitmqctl('start_app');
    await rabbitmqctl('await_startup');
  },
  PostgreSQL: async () => {
    const data = readFileSync(path.join(STATE, 'run', 'postgres.started'), 'utf8').trim();
    await exec('su', ['-s', '/bin/sh', 'postgres', '-c', `cd / && /usr/lib/postgresql/15/bin/pg_ctl -D '${data}' -m fast -w stop`]);
    await sleep(3_000);
    await infraUp();
  },
  Redis: async () => {
    // (with the checkout's password, from the URL infra/local.sh wrote)
    const password = decodeURIComponent(new URL(process.env.REDIS_URL ?? 'redis://127.0.0.1:6379').password);
    await exec('redis-cli', ['-h', '127.0.0.1', 'shutdown', 'nosave'], { env: { ...process.env, REDISCLI_AUTH: password } }).catch(() => undefined);
    await sleep(3_000);
    await infraUp();
  },
};

async function faultyRun(name: string, fault: (run: FaultRun) => Promise<void>, options: { failFirstMs?: number } = {}) {
  const run = await FaultRun.start();
  try {
    // The receiver fails for a while first, so the retry path carries load through the fault too.
    const started = Date.now();
    const failUntil = started + (options.failFirstMs ?? 0);
    run.receiver.reply = () => (Date.now() < failUntil ? { status: 500 } : { status: 200 });
    let faultMs = 0;
    await run.load(30, 12, async () => {
      const at = Date.now();
      await fault(run);
      faultMs = Date.now() - at;
    });
    const ledger = await run.ledger(180_000);
    console.log(`fault ${name}: ${JSON.stringify({ ...ledger, faultMs })}`);
    expect(ledger.accepted).toBeGreaterThan(0);
    expect(ledger).toMatchObject({ rows: ledger.accepted, succeeded: ledger.accepted, missingRows: 0, lost: 0, unsettled: 0, attemptGaps: 0 });
    return run;
  } catch (error) {
    await run.stop();
    throw error;
  }
}

describe('every fault, one at a time, loses nothing', () => {
  it.each(['projector', 'gateway', 'dispatcher'] as const)('SIGKILL of the %s mid-load', async (service) => {
    const run = await faultyRun(`${service} SIGKILL`, (r) => r.restart(service, 'SIGKILL'), { failFirstMs: 2_000 });
    await run.stop();
  });

  it.each(['projector', 'gateway', 'dispatcher'] as const)('SIGTERM of the %s mid-load exits in bounded time and hands work back', async (service) => {
    let exitMs = 0;
    const run = await faultyRun(
      `${service} SIGTERM`,
      async (r) => {
        const at = Date.now();
        const code = await r.services.get(service)!.stop('SIGTERM');
        exitMs = Date.now() - at;
        expect(code).toBe(0);
        await r.startService(service);
      },
      { failFirstMs: 2_000 },
    );
    console.log(`fault ${service} SIGTERM exit: ${exitMs} ms`);
    expect(exitMs).toBeLessThan(30_000);
    await run.stop();
  });

  it.each(Object.keys(brokers))('a %s restart mid-load', async (broker) => {
    const run = await faultyRun(`${broker} restart`, brokers[broker]!, { failFirstMs: 3_000 });
    await run.stop();
  });

  it('a receiver that hangs past the timeout, then recovers', async () => {
    const run = await FaultRun.start({ HOOKPOST_DELIVERY_TIMEOUT_MS: '300' });
    try {
      const recoverAt = Date.now() + 5_000;
      run.receiver.reply = () => (Date.now() < recoverAt ? 'hang' : { status: 200 });
      await run.load(20, 8);
      const ledger = await run.ledger(120_000);
      console.log(`fault hanging receiver: ${JSON.stringify(ledger)}`);
      expect(ledger).toMatchObject({ rows: ledger.accepted, succeeded: ledger.accepted, lost: 0, attemptGaps: 0 });
    } finally {
      await run.stop();
    }
  });

  it('a receiver that resets connections, then recovers; and a rebuild after it all gives the same tables', async () => {
    const run = await FaultRun.start();
    try {
      const recoverAt = Date.now() + 4_000;
      run.receiver.reply = () => (Date.now() < recoverAt ? 'reset' : { status: 200 });
      await run.load(20, 8, () => run.restart('dispatcher', 'SIGKILL'));
      const ledger = await run.ledger(120_000);
      console.log(`fault resetting receiver: ${JSON.stringify(ledger)}`);
      expect(ledger).toMatchObject({ rows: ledger.accepted, succeeded: ledger.accepted, lost: 0, attemptGaps: 0 });

      await sleep(1_000);
      const before = await snapshotReadModel(run.run.schema);
      await run.services.get('projector')!.stop();
      await rebuildReadModel(readProjectorEnv({ ...process.env, ...run.run.env }), createLogger('rebuild', 'warn'));
      expect(await snapshotReadModel(run.run.schema)).toEqual(before);
    } finally {
      await run.stop();
    }
  });
});
