import { Client } from 'pg';
import { finalDeliveryStatuses } from '@hookpost/contracts';
import { spawnService, type ServiceProcess } from './processes';
import { Receiver } from './receiver';
import { removeRunResources, runEnv, TEST_API_KEY } from './stack';

const DATABASE_URL = process.env.DATABASE_URL ?? 'postgres://hookpost:hookpost@127.0.0.1:5432/hookpost';
type Name = 'gateway' | 'dispatcher' | 'projector';
type SpawnOptions = NonNullable<Parameters<typeof spawnService>[2]>;
const isFinal = (status: string) => (finalDeliveryStatuses as readonly string[]).includes(status);

/**
 * The stack as three processes (so a test can SIGKILL one), a receiver that accepts everything, and a
 * steady open-model ingest load; then an exact ledger of what was accepted against what was delivered.
 */
export class FaultRun {
  readonly services = new Map<Name, ServiceProcess>();
  readonly accepted: string[] = [];
  readonly answers = new Map<string, number>();
  subscriptionId = '';

  private constructor(
    readonly run: ReturnType<typeof runEnv>,
    readonly receiver: Receiver,
  ) {}

  /** `release`: the three services start as that release (test/support/releases.ts), not as this build. */
  static async start(env: Record<string, string> = {}, options: { release?: SpawnOptions['release'] } = {}): Promise<FaultRun> {
    const fault = new FaultRun(runEnv({ HOOKPOST_RETRY_SCHEDULE_MS: '0,200,400,800,1600,3200', HOOKPOST_APPEND_TIMEOUT_MS: '3000', ...env }), await Receiver.start());
    for (const name of ['projector', 'dispatcher', 'gateway'] as const) await fault.startService(name, options);
    const created = await fault.call('POST', '/subscriptions', { name: 'fault run', target_url: fault.receiver.url });
    fault.subscriptionId = ((await created.json()) as { id: string }).id;
    return fault;
  }

  /** The run's environment, pointing at the projector it runs now. */
  env(): Record<string, string> {
    const projector = this.services.get('projector');
    return { ...this.run.env, ...(projector ? { PROJECTOR_URL: `http://127.0.0.1:${projector.port}` } : {}) };
  }

  async startService(name: Name, options: SpawnOptions = {}): Promise<ServiceProcess> {
    // A restarted gateway or projector takes its old port, so the load and the other services keep their target.
    const port = this.services.get(name)?.port;
    const portVariable = { gateway: 'GATEWAY_PORT', projector: 'PROJECTOR_PORT', dispatcher: 'DISPATCHER_PORT' }[name];
    const env = { ...this.env(), ...(port && name !== 'dispatcher' ? { [portVariable]: String(port) } : {}) };
    const service = await spawnService(name, env, options);
    this.services.set(name, service);
    return service;
  }

  async restart(name: Name, signal: NodeJS.Signals): Promise<void> {
    await this.services.get(name)!.stop(signal);
    await this.startService(name);
  }

  get baseUrl(): string {
    return `http://127.0.0.1:${this.services.get('gateway')!.port}`;
  }

  call(method: string, path: string, body?: unknown): Promise<Response> {
    return fetch(`${this.baseUrl}${path}`, {
      method,
      headers: { authorization: `Bearer ${TEST_API_KEY}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
      body: body === undefined ? undefined : JSON.stringify(body),
      signal: AbortSignal.timeout(10_000),
    });
  }

  /** Sends `ratePerSecond` ingests for `seconds`, on schedule whatever the answers take (open model). */
  async load(ratePerSecond: number, seconds: number, during?: () => Promise<void>): Promise<void> {
    const sends: Promise<void>[] = [];
    const interval = 1000 / ratePerSecond;
    const start = Date.now();
    const faults = during ? new Promise((resolve) => setTimeout(resolve, (seconds * 1000) / 3)).then(during) : Promise.resolve();
    for (let n = 0; n < ratePerSecond * seconds; n += 1) {
      const due = start + n * interval;
      const wait = due - Date.now();
      if (wait > 0) await new Promise((resolve) => setTimeout(resolve, wait));
      sends.push(
        this.call('POST', `/ingest/${this.subscriptionId}`, { event_type: 'fault.load', data: { n } })
          .then(async (response) => {
            this.answers.set(String(response.status), (this.answers.get(String(response.status)) ?? 0) + 1);
            if (response.status === 202) this.accepted.push(((await response.json()) as { delivery_id: string }).delivery_id);
            else await response.arrayBuffer();
          })
          .catch(() => {
            this.answers.set('no answer', (this.answers.get('no answer') ?? 0) + 1);
          }),
      );
    }
    await Promise.all(sends);
    await faults;
  }

  /** Waits until every accepted delivery is final in the read model; returns the ledger. */
  async ledger(timeoutMs = 90_000): Promise<Ledger> {
    const db = new Client({ connectionString: DATABASE_URL, options: `-c search_path=${this.run.schema}` });
    await db.connect();
    try {
      const deadline = Date.now() + timeoutMs;
      let rows: { id: string; status: string; attempt_count: number }[] = [];
      for (;;) {
        rows = (await db.query('SELECT id, status, attempt_count FROM webhook_deliveries WHERE id = ANY($1::uuid[]) AND payload IS NOT NULL', [this.accepted])).rows;
        const settled = rows.filter((row) => isFinal(row.status));
        if ((rows.length === this.accepted.length && settled.length === rows.length) || Date.now() > deadline) break;
        await new Promise((resolve) => setTimeout(resolve, 250));
      }
      const attempts = (
        await db.query<{ delivery_id: string; numbers: number[] }>(
          'SELECT delivery_id, array_agg(attempt_number ORDER BY attempt_number) AS numbers FROM delivery_attempts WHERE delivery_id = ANY($1::uuid[]) GROUP BY delivery_id',
          [this.accepted],
        )
      ).rows;
      // Received = answered 2xx; a repeat after a 2xx is a duplicate (retries after failures are not).
      const seen = new Map<string, number>();
      for (const request of this.receiver.requests) {
        if (request.answered === undefined || request.answered < 200 || request.answered >= 300) continue;
        const id = String(request.headers['webhook-id']);
        seen.set(id, (seen.get(id) ?? 0) + 1);
      }
      const gapped = attempts.filter((row) => row.numbers.some((number, index) => number !== index + 1));
      return {
        accepted: this.accepted.length,
        rows: rows.length,
        succeeded: rows.filter((row) => row.status === 'succeeded').length,
        unsettled: rows.filter((row) => !isFinal(row.status)).length,
        missingRows: this.accepted.filter((id) => !rows.some((row) => row.id === id)).length,
        lost: this.accepted.filter((id) => !seen.has(id)).length,
        duplicatesReceived: [...seen.values()].reduce((sum, count) => sum + count - 1, 0),
        attemptGaps: gapped.length,
        answers: Object.fromEntries(this.answers),
      };
    } finally {
      await db.end();
    }
  }

  async stop(): Promise<void> {
    for (const name of ['gateway', 'dispatcher', 'projector'] as const) await this.services.get(name)?.stop();
    await this.receiver.stop();
    await removeRunResources({ topicPrefix: this.run.topicPrefix, schema: this.run.schema, redisPrefix: this.run.env.HOOKPOST_REDIS_PREFIX!, env: this.run.env });
  }
}

export type Ledger = {
  accepted: number;
  rows: number;
  succeeded: number;
  unsettled: number;
  missingRows: number;
  lost: number;
  duplicatesReceived: number;
  attemptGaps: number;
  answers: Record<string, number>;
};
