import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, rmSync, statSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { apiClient } from '../support/api';
import { OtlpReceiver } from '../support/otlpReceiver';
import { spawnStack, type SpawnedStack } from '../support/processes';
import { Receiver } from '../support/receiver';
import { removeRunResources, runEnv, TEST_API_KEY } from '../support/stack';
import { eventually } from '../support/wait';

jest.setTimeout(180_000);

/**
 * The image's runtime stage without Docker: scripts/package.sh lays out the same files the Dockerfile copies
 * into the image (it runs the same script), in a folder outside the checkout; the three services are started
 * from there with its entrypoint and plain node, and deliver a webhook, traced.
 */
const ROOT = path.resolve(__dirname, '../..');
const runtime = path.join(mkdtempSync(path.join(os.tmpdir(), 'hookpost-runtime-')), 'app');
const run = runEnv({ OTEL_EXPORTER_OTLP_PROTOCOL: 'http/json', OTEL_BSP_SCHEDULE_DELAY: '100', OTEL_METRICS_EXPORTER: 'none', OTEL_LOGS_EXPORTER: 'none' });
let stack: SpawnedStack | undefined;
let otlp: OtlpReceiver;
let receiver: Receiver;
let gatewayPort: number;

beforeAll(async () => {
  execFileSync('bash', [path.join(ROOT, 'scripts/package.sh'), runtime], { cwd: ROOT, stdio: 'pipe' });
  otlp = await OtlpReceiver.start();
  receiver = await Receiver.start();
  stack = await spawnStack({ ...run.env, OTEL_EXPORTER_OTLP_ENDPOINT: otlp.endpoint }, { runtime });
  gatewayPort = stack.gateway.port;
});

afterAll(async () => {
  await stack?.stop();
  await receiver?.stop();
  await otlp?.stop();
  await removeRunResources({ topicPrefix: run.topicPrefix, schema: run.schema, redisPrefix: run.env.HOOKPOST_REDIS_PREFIX!, env: run.env });
  rmSync(path.dirname(runtime), { recursive: true, force: true });
});

/** Every file under `dir`, relative to it (links not followed). */
function filesUnder(dir: string, relative = ''): string[] {
  return readdirSync(path.join(dir, relative), { withFileTypes: true }).flatMap((entry) => {
    const name = path.join(relative, entry.name);
    return entry.isDirectory() ? filesUnder(dir, name) : [name];
  });
}

describe('the runtime files of the image', () => {
  it('hold the bundles and production dependencies only: no TypeScript source, compiler or test tool', () => {
    const files = filesUnder(runtime);
    expect(files.filter((file) => !file.includes('node_modules') && file.endsWith('.ts'))).toEqual([]);
    for (const service of ['gateway', 'dispatcher', 'projector']) {
      expect(existsSync(path.join(runtime, service, 'dist/index.js'))).toBe(true);
      expect(existsSync(path.join(runtime, service, 'dist/register.js'))).toBe(true);
    }
    expect(readdirSync(path.join(runtime, 'projector/migrations')).length).toBeGreaterThan(0);
    const installed = readdirSync(path.join(runtime, 'node_modules/.pnpm'));
    for (const tool of ['typescript@', 'tsx@', 'jest@', 'esbuild@', '@swc+core@', 'svix@']) expect(installed.filter((name) => name.startsWith(tool))).toEqual([]);
    // One copy of each package version for the three services.
    expect(new Set(installed).size).toBe(installed.length);
    expect(statSync(path.join(runtime, 'entrypoint.sh')).mode & 0o111).not.toBe(0);
  });

  it('start with plain node from their entrypoint, deliver a webhook and trace it', async () => {
    const api = apiClient(`http://127.0.0.1:${gatewayPort}`, { authorization: `Bearer ${TEST_API_KEY}` });
    const created = await api('POST', '/subscriptions', { name: 'packaged', target_url: receiver.url });
    expect(created.status).toBe(201);
    const ingested = await api('POST', `/ingest/${created.body.id}`, { event_type: 'order.created', data: { id: 1 } });
    expect(ingested.status).toBe(202);
    await eventually(async () => ((await api('GET', `/deliveries/${ingested.body.delivery_id}`)).body?.status === 'succeeded' ? true : undefined), { timeoutMs: 30_000 });
    expect(receiver.requests).toHaveLength(1);
    // The loader in dist/register.js instrumented each service: each names itself from the entrypoint.
    await eventually(async () => {
      const names = new Set(otlp.spans.map((span) => span.service));
      return ['hookpost-gateway', 'hookpost-dispatcher', 'hookpost-projector'].every((name) => names.has(name)) ? true : undefined;
    }, { what: 'spans from the three services' });
    // (and the npm packages outside the bundle were instrumented: the gateway's HTTP server span)
    expect(otlp.spans.some((span) => span.service === 'hookpost-gateway' && span.kind === 2 && String(span.attributes['http.route'] ?? '').includes('/ingest'))).toBe(true);
  });

  it("answer the image's HEALTHCHECK when ready, and fail it where nothing answers", () => {
    const check = (port: string) =>
      spawnSync(process.execPath, [path.join(runtime, 'healthcheck.mjs')], { env: { ...process.env, GATEWAY_PORT: port, PROJECTOR_PORT: '1', DISPATCHER_PORT: '1' } }).status;
    expect(check(String(gatewayPort))).toBe(0);
    expect(check('1')).toBe(1);
  });
});
