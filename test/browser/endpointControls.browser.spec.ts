import type { Browser, BrowserContext, Page } from 'playwright-core';
import { fromExternalId } from '@hookpost/contracts';
import { Receiver } from '../support/receiver';
import { startStack, TEST_API_KEY, type Stack } from '../support/stack';
import { launchChromium, screenshot, seriousViolations } from '../support/browser';
import { eventually } from '../support/wait';

jest.setTimeout(150_000);

// Pausing an endpoint and the background tasks (recover, replay-missing, replay from the log, cancel) in the
// dashboard and the portal, in Debian's Chromium against a real stack: each page checked with axe-core and
// photographed into .hookpost/screenshots/.
let stack: Stack;
let browser: Browser;
let closeBrowser: () => Promise<void>;
let context: BrowserContext;
let page: Page;
const receivers: Receiver[] = [];

beforeAll(async () => {
  [stack] = await Promise.all([
    startStack({
      env: {
        // Two first attempts at a time (a task's chunk is then 16 messages): a slow endpoint makes a task long enough to cancel.
        DISPATCHER_FANOUT_CONCURRENCY: '2',
        // Checkpoints often, so a running task's progress moves while the page shows it.
        HOOKPOST_TASK_CHECKPOINT_MESSAGES: '5',
        HOOKPOST_TASK_CHECKPOINT_MS: '200',
      },
    }),
  ]);
  ({ browser, close: closeBrowser } = await launchChromium());
  context = await browser.newContext({ baseURL: stack.baseUrl, viewport: { width: 1280, height: 900 } });
  page = await context.newPage();
  await page.goto('/ui/');
  await page.getByLabel('Admin API key').fill(TEST_API_KEY);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.getByRole('heading', { name: 'Overview', level: 1 }).waitFor();
  expect((await stack.api('POST', '/api/v1/event-type', { name: 'order.created', description: 'An order was placed' })).status).toBe(201);
});

afterAll(async () => {
  await closeBrowser?.();
  for (const receiver of receivers) await receiver.stop();
  await stack?.stop();
});

async function receiver(): Promise<Receiver> {
  const started = await Receiver.start();
  receivers.push(started);
  return started;
}

async function checkAccessibility(on: Page, name: string): Promise<void> {
  expect({ page: name, violations: await seriousViolations(on) }).toEqual({ page: name, violations: [] });
  await screenshot(on, name);
}

async function application(name: string): Promise<string> {
  const created = await stack.api('POST', '/api/v1/app', { name });
  expect(created.status).toBe(201);
  return created.body.id as string;
}

async function endpoint(appId: string, url: string, filterTypes?: string[]): Promise<string> {
  const created = await stack.api('POST', `/api/v1/app/${appId}/endpoint`, { url, ...(filterTypes ? { filterTypes } : {}) });
  expect(created.status).toBe(201);
  return created.body.id as string;
}

async function send(appId: string, payload: Record<string, unknown>): Promise<string> {
  const sent = await stack.api('POST', `/api/v1/app/${appId}/msg`, { eventType: 'order.created', payload });
  expect(sent.status).toBe(202);
  return sent.body.id as string;
}

async function deliveriesOf(endpointId: string): Promise<{ status: string; held_since: string | null }[]> {
  const answer = await stack.api('GET', `/deliveries?subscription_id=${fromExternalId('ep', endpointId)}&limit=100`);
  expect(answer.status).toBe(200);
  return answer.body.data;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe('pausing an endpoint', () => {
  it('shows the endpoint paused and its deliveries held, and sends them when it is resumed', async () => {
    // Given an endpoint
    const at = await receiver();
    const appId = await application('Paused shop');
    const endpointId = await endpoint(appId, at.url);
    await page.goto(`/ui/applications/${appId}/endpoints/${endpointId}`);
    await page.getByRole('heading', { name: 'Deliveries flowing' }).waitFor();

    // When the operator pauses it, and a message is sent
    await page.getByRole('button', { name: 'Pause endpoint' }).click();
    await page.locator('h1 .badge-paused').waitFor();
    await page.getByTestId('pause-state').filter({ hasText: /^Paused:/ }).waitFor();
    expect((await stack.api('GET', `/api/v1/app/${appId}/endpoint/${endpointId}`)).body.paused).toBe(true);
    await send(appId, { order: 'o_held' });

    // Then the page counts it pending (held), the API reports it held, and nothing reaches the endpoint
    await page.getByText('Pending (held)').waitFor();
    await eventually(async () => ((await page.getByTestId('pending-count').textContent()) === '1' ? true : undefined), { timeoutMs: 15_000, what: 'one held delivery counted' });
    await eventually(async () => ((await deliveriesOf(endpointId)).some((delivery) => delivery.status === 'pending' && delivery.held_since) ? true : undefined), { what: 'the delivery held' });
    await checkAccessibility(page, '11-endpoint-paused');
    // and the deliveries page marks it held, as does the delivery's own page
    await page.goto(`/ui/deliveries?subscription_id=${fromExternalId('ep', endpointId)}`);
    const row = page.locator('tr[data-status="pending"]', { has: page.locator('.badge-held') });
    await row.waitFor();
    await checkAccessibility(page, '12-deliveries-held');
    await row.getByRole('link').first().click();
    await page.getByTestId('held').filter({ hasText: 'its endpoint is paused' }).waitFor();
    await sleep(500);
    expect(at.requests).toHaveLength(0);

    // When it is resumed from the endpoint's page, the held delivery is sent, once, and the badge goes
    await page.goto(`/ui/applications/${appId}/endpoints/${endpointId}`);
    await page.getByRole('button', { name: 'Resume endpoint' }).click();
    await page.getByRole('heading', { name: 'Deliveries flowing' }).waitFor();
    expect(await page.locator('h1 .badge-paused').count()).toBe(0);
    await eventually(async () => (at.requests.length === 1 ? true : undefined), { timeoutMs: 10_000, what: 'the held delivery sent on resume' });
    expect(JSON.parse(at.requests[0]!.body)).toEqual({ order: 'o_held' });
  });
});
