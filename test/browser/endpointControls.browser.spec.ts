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

describe('an ordered endpoint', () => {
  // A stack of its own whose retries go on for about 20 s (the shared one's end in about a second), so a failing
  // head is still there to skip; signed in on a page of its own.
  let ordered: Stack;
  let page: Page;
  let api: Stack['api'];

  beforeAll(async () => {
    ordered = await startStack({ env: { HOOKPOST_RETRY_SCHEDULE_MS: Array.from({ length: 40 }, () => '500').join(',') } });
    api = ordered.api;
    const own = await browser.newContext({ baseURL: ordered.baseUrl, viewport: { width: 1280, height: 900 } });
    page = await own.newPage();
    await page.goto('/ui/');
    await page.getByLabel('Admin API key').fill(TEST_API_KEY);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.getByRole('heading', { name: 'Overview', level: 1 }).waitFor();
  });

  afterAll(async () => {
    await page?.context().close();
    await ordered?.stop();
  });

  it('is made ordered from its settings, and its failing head is skipped from its page so the next goes', async () => {
    // Given an endpoint that fails every request
    const at = await receiver();
    at.reply = () => ({ status: 500, body: 'down' });
    const appId = (await api('POST', '/api/v1/app', { name: 'Ordered shop' })).body.id as string;
    const created = await api('POST', `/api/v1/app/${appId}/endpoint`, { url: at.url });
    expect(created.status).toBe(201);
    const endpointId = created.body.id as string;
    const sendHere = async (payload: Record<string, unknown>) => expect((await api('POST', `/api/v1/app/${appId}/msg`, { eventType: 'order.created', payload })).status).toBe(202);
    const statusesHere = async () => {
      const answer = await api('GET', `/deliveries?subscription_id=${fromExternalId('ep', endpointId)}&limit=100`);
      return (answer.body.data as { status: string }[]).map((delivery) => delivery.status).sort().join();
    };
    await page.goto(`/ui/applications/${appId}/endpoints/${endpointId}`);
    await page.getByRole('heading', { name: 'Settings' }).waitFor();

    // When the operator makes it ordered
    await page.getByLabel('Deliver in order (one at a time, in message order)').check();
    await page.getByRole('form', { name: 'Settings' }).getByRole('button', { name: 'Save' }).click();
    await page.locator('h1 .badge-ordered').waitFor();
    await page.getByRole('heading', { name: 'Delivered in order' }).waitFor();
    expect((await api('GET', `/api/v1/app/${appId}/endpoint/${endpointId}`)).body.ordered).toBe(true);
    // (nothing waits yet: a skip says so)
    page.once('dialog', (dialog) => void dialog.accept());
    await page.getByRole('button', { name: 'Skip the head' }).click();
    await page.getByTestId('skip-head-note').filter({ hasText: 'No delivery is waiting at the head.' }).waitFor();

    // and two messages are sent: the first fails and holds the second behind it
    await sendHere({ order: 'o_first' });
    await sendHere({ order: 'o_second' });
    await eventually(async () => (at.requests.length >= 2 ? true : undefined), { timeoutMs: 20_000, what: 'the head retried' });
    expect(at.requests.every((request) => JSON.parse(request.body).order === 'o_first')).toBe(true);
    await checkAccessibility(page, '20-endpoint-ordered');

    // Then skipping the head from the page ends it, cancelled, and the second goes
    at.reply = () => ({ status: 200, body: 'ok' });
    page.once('dialog', (dialog) => void dialog.accept());
    await page.getByRole('button', { name: 'Skip the head' }).click();
    await page.getByTestId('skip-head-note').filter({ hasText: 'The head was skipped' }).waitFor();
    await eventually(async () => (at.requests.some((request) => JSON.parse(request.body).order === 'o_second') ? true : undefined), { timeoutMs: 20_000, what: 'the second message after the skip' });
    await eventually(async () => ((await statusesHere()) === 'cancelled,succeeded' ? true : undefined), { timeoutMs: 15_000, what: 'the head cancelled and the second succeeded' });
    // (the skipped head is never sent again)
    const firstAfterSkip = at.requests.findIndex((request) => JSON.parse(request.body).order === 'o_second');
    expect(at.requests.slice(firstAfterSkip).filter((request) => JSON.parse(request.body).order === 'o_first')).toEqual([]);
  });
});

describe('background tasks', () => {
  let appId: string;
  let endpointId: string;
  let at: Receiver;

  it("recovers and replays an endpoint's deliveries from its page, each a task whose progress shows there", async () => {
    // Given an endpoint whose deliveries of two messages failed
    at = await receiver();
    at.reply = () => ({ status: 500, body: 'down' });
    appId = await application('Recovering shop');
    endpointId = await endpoint(appId, at.url);
    await send(appId, { order: 'o_1' });
    await send(appId, { order: 'o_2' });
    await eventually(async () => {
      const deliveries = await deliveriesOf(endpointId);
      return deliveries.length === 2 && deliveries.every((delivery) => delivery.status === 'failed') ? true : undefined;
    }, { timeoutMs: 30_000, what: 'both deliveries failed' });
    at.reply = () => ({ status: 200, body: 'ok' });
    const failedAttempts = at.requests.length;

    // When the operator recovers them from the endpoint's page
    await page.goto(`/ui/applications/${appId}/endpoints/${endpointId}`);
    const recover = page.getByRole('form', { name: 'Recover failed deliveries' });
    await recover.getByRole('button', { name: 'Recover' }).click();

    // Then the started task shows there, its progress live until it has finished, and both arrive
    await recover.locator('.started-task[data-state="finished"]').waitFor({ timeout: 20_000 });
    await recover.getByText('2 sent of 2 looked at').waitFor();
    expect(await recover.getByRole('progressbar').getAttribute('aria-valuetext')).toBe('100 %');
    await eventually(async () => (at.requests.length === failedAttempts + 2 ? true : undefined), { what: 'the recovered deliveries' });

    // When it replays what is missing (nothing: the endpoint had both) and replays the log for one event type
    const missing = page.getByRole('form', { name: 'Replay missing messages' });
    await missing.getByRole('button', { name: 'Replay missing' }).click();
    await missing.locator('.started-task[data-state="finished"]').waitFor({ timeout: 20_000 });
    await missing.getByText('0 sent of').waitFor();
    const fromLog = page.getByRole('form', { name: 'Replay from the log' });
    await fromLog.getByRole('checkbox', { name: 'order.created' }).check();
    await fromLog.getByRole('button', { name: 'Replay from the log' }).click();
    await fromLog.locator('.started-task[data-state="finished"]').waitFor({ timeout: 20_000 });
    await fromLog.getByText('2 sent of 2 looked at').waitFor();
    await eventually(async () => (at.requests.length === failedAttempts + 4 ? true : undefined), { what: 'the replayed messages' });
    await checkAccessibility(page, '13-endpoint-tasks');

    // and the recovery's link opens its task
    await recover.getByRole('link').click();
    await page.getByRole('heading', { name: /^Recover/, level: 1 }).waitFor();
    await page.locator('h1 .badge-finished').waitFor();
    await page.getByText('2 sent of 2 looked at').waitFor();
    await checkAccessibility(page, '14-task');
  });

  it("lists the tasks, refreshes a running one's progress without reloading, and cancels it", async () => {
    // Given 120 messages and a slow endpoint that has none of them (its filter takes another type): 400 ms an
    // answer, two at a time, a replay takes about 25 seconds
    const slowApp = await application('Slow shop');
    const since = new Date(Date.now() - 1_000).toISOString();
    await Promise.all(Array.from({ length: 120 }, (_, n) => send(slowApp, { n })));
    const slow = await receiver();
    slow.reply = () => ({ status: 200, delayMs: 400 });
    const slowEndpoint = await endpoint(slowApp, slow.url, ['never.sent']);

    // When a replay from the log of all sixty starts, and the Tasks page is open
    await page.getByRole('navigation', { name: 'Sections' }).getByRole('link', { name: 'Tasks' }).click();
    await page.getByRole('heading', { name: 'Tasks', level: 1 }).waitFor();
    await page.evaluate(() => ((globalThis as unknown as { hookpostMark: number }).hookpostMark = 42));
    const started = await stack.api('POST', `/api/v1/app/${slowApp}/endpoint/${slowEndpoint}/replay-from-log`, { since });
    expect(started.status).toBe(202);
    const taskId = started.body.id as string;
    const row = page.locator(`tr[data-task="${taskId}"]`);

    // Then its row appears running, and its progress moves while the page stays as it is
    await row.and(page.locator('[data-state="running"]')).waitFor({ timeout: 15_000 });
    const progress = row.getByRole('progressbar');
    const first = await progress.getAttribute('aria-valuetext');
    const moved = await eventually(async () => {
      const now = await progress.getAttribute('aria-valuetext');
      return now !== first && /^\d+ %$/.test(now ?? '') && Number.parseInt(now!, 10) > 0 ? now : undefined;
    }, { timeoutMs: 15_000, what: `the progress to move from ${first}` });
    expect(await page.evaluate(() => (globalThis as unknown as { hookpostMark?: number }).hookpostMark)).toBe(42);
    // When the operator cancels it
    await row.getByRole('button', { name: `Cancel task ${taskId}` }).click();
    console.log(`task progress seen moving from ${first} to ${moved}; cancelled with ${slow.requests.length} of 120 at the endpoint`);

    // Then it reads cancelled at once, and the endpoint gets fewer than all
    await row.and(page.locator('[data-state="cancelled"]')).waitFor();
    expect(await row.getByRole('button', { name: /^Cancel task/ }).count()).toBe(0);
    expect((await stack.api('GET', `/api/v1/background-task/${taskId}`)).body).toMatchObject({ status: 'failed', data: { state: 'cancelled' } });
    // the earlier tasks are listed too, finished
    expect(await page.locator('tr[data-state="finished"]').count()).toBeGreaterThanOrEqual(3);
    await checkAccessibility(page, '15-tasks');
    expect(slow.requests.length).toBeLessThan(120);
  });

  it("shows an endpoint's pause and recover in the portal, the recovery's task with its progress", async () => {
    // Given the recovering shop's endpoint failed once more
    at.reply = () => ({ status: 500, body: 'down again' });
    await send(appId, { order: 'o_3' });
    await eventually(async () => {
      const failed = (await deliveriesOf(endpointId)).filter((delivery) => delivery.status === 'failed');
      return failed.length >= 3 ? true : undefined;
    }, { timeoutMs: 30_000, what: 'the third delivery failed' });
    at.reply = () => ({ status: 200, body: 'ok' });

    // When its customer opens the portal and the endpoint
    const access = await stack.api('POST', `/api/v1/auth/app-portal-access/${appId}`, {});
    const customer = await browser.newContext({ viewport: { width: 1280, height: 900 } });
    const portal = await customer.newPage();
    await portal.goto(access.body.url);
    await portal.getByRole('link', { name: at.url }).click();
    await portal.getByRole('heading', { name: 'Deliveries flowing' }).waitFor();

    // Then it can pause and resume it
    await portal.getByRole('button', { name: 'Pause endpoint' }).click();
    await portal.locator('h1 .badge-paused').waitFor();
    await portal.getByRole('button', { name: 'Resume endpoint' }).click();
    await portal.getByRole('heading', { name: 'Deliveries flowing' }).waitFor();

    // and recover: the task's progress shows, without a link to the operator's pages
    const recover = portal.getByRole('form', { name: 'Recover failed deliveries' });
    await recover.getByRole('button', { name: 'Recover' }).click();
    await recover.locator('.started-task[data-state="finished"]').waitFor({ timeout: 20_000 });
    expect(await recover.getByRole('progressbar').getAttribute('aria-valuetext')).toBe('100 %');
    await recover.getByText(/\b[1-9]\d* sent of \d+ looked at/).waitFor();
    expect(await recover.locator('a[href^="/ui/"]').count()).toBe(0);
    await checkAccessibility(portal, '16-portal-endpoint-task');
    await customer.close();
  });
});
