import { execFileSync } from 'node:child_process';
import { serviceCredentials } from '@hookpost/platform';
import { readProjectorEnv } from '../../services/projector/src/env';
import { startStack, TEST_API_KEY, type Stack } from '../support/stack';

jest.setTimeout(60_000);

// Secure by default beyond the API: what listens where, and who may read what.
let stack: Stack;
const METRICS_TOKEN = 'metrics-token-0123456789abcdef';

beforeAll(async () => {
  stack = await startStack({ env: { HOOKPOST_METRICS_TOKEN: METRICS_TOKEN } });
});

afterAll(async () => {
  await stack?.stop();
});

const projector = (path: string, headers: Record<string, string> = {}) => fetch(`${stack.env.PROJECTOR_URL}${path}`, { headers });

describe('network exposure', () => {
  it('binds every service to loopback unless told otherwise', () => {
    // (read from the kernel's socket table: no traffic to any non-loopback address)
    const listening = execFileSync('ss', ['-Hltn'], { encoding: 'utf8' });
    const ports = [stack.gateway.port, stack.projector.port, stack.dispatcher.port];
    for (const port of ports) {
      const local = listening
        .split('\n')
        .map((line) => line.trim().split(/\s+/)[3])
        .filter((address): address is string => !!address && address.endsWith(`:${port}`));
      expect({ port, local }).toEqual({ port, local: [`127.0.0.1:${port}`] });
    }
  });

  it('serves sealed secrets on the projector only to the services, never to a user API key', async () => {
    const created = await stack.api('POST', '/subscriptions', { name: 'exposure', target_url: 'https://example.com/hook' });
    const id = created.body.id as string;
    const service = serviceCredentials(readProjectorEnv({ ...process.env, ...stack.env }).HOOKPOST_SECRET_KEYS).send;

    // A user's key opens the public reads but not the internal ones, whatever the path's case
    expect((await projector(`/subscriptions/${id}`, { authorization: `Bearer ${TEST_API_KEY}` })).status).toBe(200);
    for (const path of [`/internal/subscriptions/${id}`, `/INTERNAL/subscriptions/${id}`, `/Internal/Subscriptions/${id}`]) {
      const answer = await projector(path, { authorization: `Bearer ${TEST_API_KEY}` });
      expect({ path, status: answer.status }).toEqual({ path, status: 401 });
    }
    expect((await projector(`/internal/subscriptions/${id}`)).status).toBe(401);

    // The service credential opens them
    const internal = await projector(`/internal/subscriptions/${id}`, { authorization: `Bearer ${service}` });
    expect(internal.status).toBe(200);
    expect(((await internal.json()) as { secret: string }).secret).toMatch(/^sealed:/);
    // and the gateway never forwards /internal
    expect((await stack.api('GET', `/internal/subscriptions/${id}`)).status).toBe(404);
  });

  it('protects /metrics with HOOKPOST_METRICS_TOKEN when it is set', async () => {
    for (const url of [`${stack.baseUrl}/metrics`, `${stack.env.PROJECTOR_URL}/metrics`, `http://127.0.0.1:${stack.dispatcher.port}/metrics`]) {
      expect({ url, status: (await fetch(url)).status }).toEqual({ url, status: 401 });
      expect({ url, status: (await fetch(url, { headers: { authorization: `Bearer ${TEST_API_KEY}` } })).status }).toEqual({ url, status: 401 });
      const allowed = await fetch(url, { headers: { authorization: `Bearer ${METRICS_TOKEN}` } });
      expect({ url, status: allowed.status }).toEqual({ url, status: 200 });
      expect(await allowed.text()).toMatch(/^process_cpu_seconds_total/m);
    }
  });
});
