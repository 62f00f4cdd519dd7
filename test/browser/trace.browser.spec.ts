import type { Browser, Page } from 'playwright-core';
import { apiClient } from '../support/api';
import { launchChromium, screenshot, seriousViolations } from '../support/browser';
import { jaegerExporterEnv, startJaeger, type RunningJaeger } from '../support/jaeger';
import { spawnStack, type SpawnedStack } from '../support/processes';
import { Receiver } from '../support/receiver';
import { removeRunResources, runEnv, TEST_API_KEY } from '../support/stack';
import { eventually } from '../support/wait';

jest.setTimeout(120_000);

/**
 * A delivery's trace on its dashboard page: a real Jaeger (the one `HOOKPOST_JAEGER=1 npm start` runs, built with
 * Go by test/globalSetup.ts; without it this test fails, it does not skip), the three services as processes
 * exporting to it with the gateway told where its query API is (HOOKPOST_JAEGER_URL, as npm start tells it), a
 * receiver that fails once, and the waterfall in Debian's Chromium.
 */
const run = runEnv({ OTEL_BSP_SCHEDULE_DELAY: '100' });
let jaeger: RunningJaeger | undefined;
let receiver: Receiver;
let stack: SpawnedStack | undefined;
let browser: Browser;
let closeBrowser: (() => Promise<void>) | undefined;
let page: Page;
let api: ReturnType<typeof apiClient>;

beforeAll(async () => {
  jaeger = await startJaeger();
  receiver = await Receiver.start();
  stack = await spawnStack({ ...run.env, ...jaegerExporterEnv(jaeger.otlpHttpEndpoint), HOOKPOST_JAEGER_URL: jaeger.queryUrl });
  api = apiClient(stack.baseUrl, { authorization: `Bearer ${TEST_API_KEY}` });
  ({ browser, close: closeBrowser } = await launchChromium());
  page = await (await browser.newContext({ baseURL: stack.baseUrl, viewport: { width: 1280, height: 900 } })).newPage();
});

afterAll(async () => {
  await closeBrowser?.();
  await stack?.stop();
  await receiver?.stop();
  await jaeger?.stop();
  await removeRunResources({ topicPrefix: run.topicPrefix, schema: run.schema, redisPrefix: run.env.HOOKPOST_REDIS_PREFIX!, env: run.env });
});

describe("a delivery's trace on the dashboard", () => {
  let deliveryId: string;

  it('draws the gateway, both attempts (failed, then succeeded) and the projector as a waterfall, linked to Jaeger', async () => {
    // Given a webhook whose first attempt fails and second succeeds
    receiver.reply = (_request, n) => (n === 1 ? { status: 503 } : { status: 200 });
    const created = await api('POST', '/subscriptions', { name: 'traced on the dashboard', target_url: receiver.url });
    expect(created.status).toBe(201);
    const ingested = await api('POST', `/ingest/${created.body.id}`, { event_type: 'order.created', data: { id: 1 } });
    expect(ingested.status).toBe(202);
    deliveryId = ingested.body.delivery_id as string;
    await eventually(async () => ((await api('GET', `/deliveries/${deliveryId}`)).body?.status === 'succeeded' ? true : undefined), { timeoutMs: 30_000, what: 'the delivery to succeed' });
    const traceId = String(receiver.requests[0]!.headers.traceparent).split('-')[1];

    // When the operator signs in and opens the delivery
    await page.goto('/ui/');
    await page.getByLabel('Admin API key').fill(TEST_API_KEY);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.getByRole('heading', { name: 'Overview', level: 1 }).waitFor();
    await page.goto(`/ui/deliveries/${deliveryId}`);

    // Then the trace section draws all of it (asking Jaeger again until the last spans are exported)
    const waterfall = page.getByRole('table', { name: `Spans of trace ${traceId}, by start time` });
    const rows = waterfall.locator('tbody tr');
    await waterfall.locator('tr[data-service="hookpost-projector"]').first().waitFor({ timeout: 20_000 });
    await waterfall.locator('tr[data-operation="webhook attempt"][data-outcome="succeeded"]').waitFor({ timeout: 20_000 });
    const attempts = waterfall.locator('tr[data-operation="webhook attempt"]');
    expect(await attempts.count()).toBe(2);
    expect(await attempts.nth(0).getAttribute('data-outcome')).toBe('failed');
    expect(await attempts.nth(0).getByText('attempt 1: failed (503)').count()).toBe(1);
    expect(await attempts.nth(1).getByText('attempt 2: succeeded (200)').count()).toBe(1);
    // the gateway's request that created it comes first, with nothing above it
    const first = rows.first();
    expect(await first.getAttribute('data-service')).toBe('hookpost-gateway');
    expect(await first.getAttribute('data-operation')).toMatch(/^POST/);
    expect(new Set(await rows.evaluateAll((trs) => trs.map((tr) => (tr as unknown as { getAttribute(name: string): string | null }).getAttribute('data-service'))))).toEqual(new Set(['hookpost-gateway', 'hookpost-dispatcher', 'hookpost-projector']));
    // each span's start and duration in words, not only as a bar; the retry drawn below the first attempt
    expect(await first.locator('td').nth(1).textContent()).toBe('+0 µs');
    expect(await attempts.nth(1).locator('td').nth(2).textContent()).toMatch(/^\d+(\.\d)? (µs|ms|s)$/);
    const levelOf = async (row: typeof first) => Number(/level (\d+)/.exec((await row.locator('td').first().textContent()) ?? '')?.[1]);
    expect(await levelOf(attempts.nth(1))).toBeGreaterThan(await levelOf(attempts.nth(0)));
    // and the link to the trace in Jaeger's UI
    expect(await page.getByRole('link', { name: 'Open in Jaeger' }).getAttribute('href')).toBe(`${jaeger!.queryUrl}/trace/${traceId}`);

    expect({ page: 'delivery trace', violations: await seriousViolations(page) }).toEqual({ page: 'delivery trace', violations: [] });
    await screenshot(page, '10-delivery-trace');

    // Express's own middleware and router spans are hidden until asked for
    expect(await waterfall.locator('tr[data-operation^="middleware - "]').count()).toBe(0);
    const shown = await rows.count();
    await page.getByLabel(/^Show the \d+ Express middleware, router and handler spans$/).check();
    await waterfall.locator('tr[data-operation^="middleware - "]').first().waitFor();
    expect(await rows.count()).toBeGreaterThan(shown);
  });

  it('answers 404 for what is not a delivery id and 503 once Jaeger is gone', async () => {
    const notAnId = await api('GET', '/ui/api/deliveries/not-a-uuid/trace');
    expect([notAnId.status, notAnId.body.reason]).toEqual([404, 'no-trace']);
    const unknown = await api('GET', '/ui/api/deliveries/00000000-0000-4000-8000-000000000000/trace');
    expect([unknown.status, unknown.body.reason]).toEqual([404, 'no-trace']);
    // (an application's key or no key is not the operator)
    expect((await fetch(`${stack!.baseUrl}/ui/api/deliveries/${deliveryId}/trace`)).status).toBe(401);

    await jaeger!.stop();
    expect((await api('GET', `/ui/api/deliveries/${deliveryId}/trace`)).status).toBe(503);
  });
});
