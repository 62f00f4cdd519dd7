import http from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Browser, Page } from 'playwright-core';
import { startStack, TEST_API_KEY, type Stack } from '../support/stack';
import { launchChromium } from '../support/browser';

jest.setTimeout(120_000);

/**
 * Hookpost behind a reverse proxy under a path: HOOKPOST_PUBLIC_URL=http://127.0.0.1:<port>/hookpost, and a
 * proxy (written here, a few lines) that serves the gateway at /hookpost/ and strips the prefix, as nginx's
 * `location /hookpost/ { proxy_pass http://gateway/; }` does. Every page, asset and call must go through it.
 */
const PREFIX = '/hookpost';
let stack: Stack;
let browser: Browser;
let closeBrowser: () => Promise<void>;
let page: Page;
let proxy: http.Server;
let proxyOrigin: string;
let gatewayPort = 0;
/** Requests that reached the proxy outside the prefix: a page that asks for one is broken behind a real proxy. */
const outside: string[] = [];

beforeAll(async () => {
  proxy = http.createServer((req, res) => {
    const url = req.url ?? '/';
    if (url !== PREFIX && !url.startsWith(`${PREFIX}/`)) {
      outside.push(url);
      res.writeHead(404).end();
      return;
    }
    const upstream = http.request({ host: '127.0.0.1', port: gatewayPort, method: req.method, path: url.slice(PREFIX.length) || '/', headers: req.headers }, (answer) => {
      res.writeHead(answer.statusCode ?? 502, answer.headers);
      answer.pipe(res);
    });
    upstream.on('error', () => res.writeHead(502).end());
    req.pipe(upstream);
  });
  await new Promise<void>((resolve) => proxy.listen(0, '127.0.0.1', resolve));
  proxyOrigin = `http://127.0.0.1:${(proxy.address() as AddressInfo).port}`;
  stack = await startStack({ env: { HOOKPOST_PUBLIC_URL: `${proxyOrigin}${PREFIX}` } });
  gatewayPort = stack.gateway.port;
  ({ browser, close: closeBrowser } = await launchChromium());
  page = await (await browser.newContext({ viewport: { width: 1280, height: 900 } })).newPage();
});

afterAll(async () => {
  await closeBrowser?.();
  await stack?.stop();
  proxy?.closeAllConnections();
  await new Promise((resolve) => proxy?.close(resolve));
});

describe('HOOKPOST_PUBLIC_URL with a path', () => {
  it('serves the dashboard under it: assets, sign-in, navigation, the live stream, a reload', async () => {
    const app = await stack.api('POST', '/api/v1/app', { name: 'Prefixed shop' });
    await stack.api('POST', `/api/v1/app/${app.body.id}/endpoint`, { url: 'https://prefixed.example/hooks' });

    await page.goto(`${proxyOrigin}${PREFIX}/ui/`);
    await page.getByLabel('Admin API key').fill(TEST_API_KEY);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.getByRole('heading', { name: 'Overview', level: 1 }).waitFor();

    const nav = page.getByRole('navigation', { name: 'Sections' });
    expect(await nav.getByRole('link', { name: 'Applications' }).getAttribute('href')).toBe(`${PREFIX}/ui/applications`);
    expect(await nav.getByRole('link', { name: 'API' }).getAttribute('href')).toBe(`${PREFIX}/docs`);
    await nav.getByRole('link', { name: 'Applications' }).click();
    await page.getByRole('link', { name: 'Prefixed shop' }).click();
    await page.getByRole('link', { name: 'https://prefixed.example/hooks' }).click();
    await page.getByRole('heading', { name: 'Signing secret' }).waitFor();
    expect(new URL(page.url()).pathname).toMatch(new RegExp(`^${PREFIX}/ui/applications/app_\\w+/endpoints/ep_\\w+$`));

    // a reload of a page deep inside, and the live stream through the proxy
    await page.reload();
    await page.getByRole('heading', { name: 'Signing secret' }).waitFor();
    await nav.getByRole('link', { name: 'Deliveries' }).click();
    await page.getByText('Live', { exact: true }).waitFor();
    expect(outside).toEqual([]);
  });

  it('answers portal links under it, and the portal works there', async () => {
    const app = await stack.api('POST', '/api/v1/app', { name: 'Portal under a path' });
    await stack.api('POST', `/api/v1/app/${app.body.id}/endpoint`, { url: 'https://portal-prefixed.example/hooks' });
    const access = await stack.api('POST', `/api/v1/auth/app-portal-access/${app.body.id}`, {});
    expect(access.body.url).toMatch(new RegExp(`^${proxyOrigin}${PREFIX}/portal/#token=hpat_`));

    const customer = await browser.newContext();
    const portal = await customer.newPage();
    await portal.goto(access.body.url);
    await portal.getByRole('link', { name: 'https://portal-prefixed.example/hooks' }).click();
    await portal.getByRole('heading', { name: 'Signing secret' }).waitFor();
    expect(new URL(portal.url()).pathname).toMatch(new RegExp(`^${PREFIX}/portal/endpoints/ep_\\w+$`));
    await customer.close();
    expect(outside).toEqual([]);
  });

  it('points Swagger UI, ReDoc and the API document under it', async () => {
    const docs = await (await fetch(`${proxyOrigin}${PREFIX}/docs`)).text();
    expect(docs).toContain(`${PREFIX}/docs/assets/swagger-ui-bundle.js`);
    expect(docs).toContain(`'${PREFIX}/openapi.json'`);
    const redoc = await (await fetch(`${proxyOrigin}${PREFIX}/redoc`)).text();
    expect(redoc).toContain(`spec-url="${PREFIX}/openapi.json"`);
    expect(redoc).toMatch(new RegExp(`src="${PREFIX}/ui/assets/`));
    const document = (await (await fetch(`${proxyOrigin}${PREFIX}/openapi.json`)).json()) as { servers: { url: string }[] };
    expect(document.servers[0]!.url).toBe(`${proxyOrigin}${PREFIX}`);
  });
});
