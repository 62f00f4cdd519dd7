import { execFileSync } from 'node:child_process';
import { Receiver } from '../support/receiver';
import { startStack, type Stack } from '../support/stack';
import { eventually } from '../support/wait';

// Breaks the shared RabbitMQ on purpose: runs alone (npm test runs the fault tier after the others, in band).
jest.setTimeout(180_000);

const rabbitEnv = { ...process.env, RABBITMQ_NODENAME: 'rabbit@localhost' };
const rabbitmqctl = (...args: string[]) => execFileSync('rabbitmqctl', ['-q', ...args], { env: rabbitEnv, stdio: 'pipe', timeout: 120_000 });

let stack: Stack;
let receiver: Receiver;
let api: Stack['api'];

beforeAll(async () => {
  stack = await startStack();
  receiver = await Receiver.start();
  api = stack.api;
});

afterAll(async () => {
  try {
    rabbitmqctl('start_app');
  } catch {
    // already running
  }
  await receiver?.stop();
  await stack?.stop();
});

const dispatcherReady = async () => (await fetch(`http://127.0.0.1:${stack.dispatcher.port}/readyz`)).status;

describe('RabbitMQ going away and coming back', () => {
  it('turns the dispatcher unready while RabbitMQ is down, ready again after, and retries resume', async () => {
    expect(await dispatcherReady()).toBe(200);

    rabbitmqctl('stop_app');
    await eventually(async () => ((await dispatcherReady()) === 503 ? true : undefined), { what: 'readyz 503', timeoutMs: 30_000 });

    rabbitmqctl('start_app');
    rabbitmqctl('await_startup');
    await eventually(async () => ((await dispatcherReady()) === 200 ? true : undefined), { what: 'readyz 200', timeoutMs: 60_000, intervalMs: 250 });

    // The reconnected dispatcher schedules and consumes retries again.
    receiver.reply = (_request, n) => (n === 1 ? { status: 500 } : { status: 200 });
    const created = await api('POST', '/subscriptions', { name: 'after restart', target_url: receiver.url });
    const ingested = await api('POST', `/ingest/${created.body.id}`, { event_type: 'a.b' });
    const delivery = await eventually(async () => {
      const answer = await api('GET', `/deliveries/${ingested.body.delivery_id}`);
      return answer.body?.status === 'succeeded' ? answer.body : undefined;
    }, { timeoutMs: 30_000 });
    expect(delivery.attempt_count).toBe(2);
  });
});
