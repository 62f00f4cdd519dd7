import { Receiver } from '../support/receiver';
import { startStack, type Stack } from '../support/stack';
import { eventually } from '../support/wait';

jest.setTimeout(90_000);

// A stack with no allowlist, as in production: loopback is refused like every non-public address.
let stack: Stack;
let receiver: Receiver;
let api: Stack['api'];

beforeAll(async () => {
  stack = await startStack({ env: { HOOKPOST_ALLOWED_TARGET_CIDRS: '' } });
  receiver = await Receiver.start();
  api = stack.api;
});

afterAll(async () => {
  await receiver?.stop();
  await stack?.stop();
});

describe('SSRF protection', () => {
  const port = () => new URL(receiver.url).port;

  it.each([
    (p: string) => `http://127.0.0.1:${p}/hook`,
    (p: string) => `http://2130706433:${p}/hook`,
    (p: string) => `http://0x7f.0.0.1:${p}/hook`,
    (p: string) => `http://[::1]:${p}/hook`,
    (p: string) => `http://[::ffff:127.0.0.1]:${p}/hook`,
    () => 'http://169.254.169.254/latest/meta-data/',
    () => 'http://10.0.0.1/hook',
    () => 'http://user:pass@example.com/hook',
    () => 'ftp://example.com/hook',
  ])('refuses to create a subscription to a refused literal target (%#) with 422', async (target) => {
    const answer = await api('POST', '/subscriptions', { name: 'ssrf', target_url: target(port()) });
    expect(answer.status).toBe(422);
    expect(answer.body.errors.map((error: { field: string }) => error.field)).toEqual(['target_url']);
  });

  it('fails, without retrying and without connecting, a delivery to a name that resolves to loopback', async () => {
    const created = await api('POST', '/subscriptions', { name: 'rebinding', target_url: `http://localhost:${port()}/hook` });
    expect(created.status).toBe(201);
    const patchedToLiteral = await api('PATCH', `/subscriptions/${created.body.id}`, { target_url: `http://127.0.0.1:${port()}/hook` });
    expect(patchedToLiteral.status).toBe(422);

    const ingested = await api('POST', `/ingest/${created.body.id}`, { event_type: 'a.b' });
    expect(ingested.status).toBe(202);
    const delivery = await eventually(async () => {
      const answer = await api('GET', `/deliveries/${ingested.body.delivery_id}`);
      return answer.status === 200 && answer.body.status === 'failed' ? answer.body : undefined;
    });
    expect(delivery.attempt_count).toBe(1);
    expect(delivery.attempts[0].status_code).toBeNull();
    // The stored error says why without naming the address the name resolved to
    expect(delivery.attempts[0].error).toBe('target_url is not a public address: localhost resolves to a non-public address; delivery refused');
    expect(delivery.last_error).toBe(delivery.attempts[0].error);
    await new Promise((resolve) => setTimeout(resolve, 500));
    expect(receiver.connections).toBe(0);
    expect(receiver.requests).toHaveLength(0);
  });
});
