import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm, stat, writeFile } from 'node:fs/promises';
import net from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import readline from 'node:readline';
import { Webhook as StandardWebhook } from 'standardwebhooks';
import { Receiver } from '../support/receiver';
import { startStack, TEST_API_KEY, type Stack } from '../support/stack';
import { eventually } from '../support/wait';

jest.setTimeout(120_000);

/**
 * The `hookpost` command as a user runs it — a child process started through its bin shim — against an
 * isolated stack (the three services on real Kafka, RabbitMQ, PostgreSQL and Redis) and real receivers on
 * loopback. Each test makes its own application and, where it logs in, its own config directory.
 */
const BIN = path.resolve(__dirname, '../../packages/cli/bin/hookpost.js');

let stack: Stack;
let home: string;
const receivers: Receiver[] = [];
const children: ChildProcess[] = [];

beforeAll(async () => {
  stack = await startStack();
  home = await mkdtemp(path.join(tmpdir(), 'hookpost-cli-e2e-'));
});

afterAll(async () => {
  for (const child of children) if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  for (const receiver of receivers) await receiver.stop();
  await stack?.stop();
  if (home) await rm(home, { recursive: true, force: true });
});

async function receiver(): Promise<Receiver> {
  const started = await Receiver.start();
  receivers.push(started);
  return started;
}

type Run = { code: number | null; stdout: string; stderr: string };

/** The environment of a CLI run: nothing of the caller's Hookpost settings, a home of its own. */
function cliEnv(overrides: Record<string, string | undefined>): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env, HOME: home, XDG_CONFIG_HOME: path.join(home, 'default-config') };
  for (const name of ['HOOKPOST_URL', 'HOOKPOST_API_KEY', 'HOOKPOST_CONFIG', 'HOOKPOST_WEBHOOK_SECRET', 'NO_COLOR', 'FORCE_COLOR']) delete env[name];
  for (const [name, value] of Object.entries(overrides)) {
    if (value === undefined) delete env[name];
    else env[name] = value;
  }
  return env;
}

/** The stack's URL and key through the environment, as CI would give them. */
const loggedIn = () => ({ HOOKPOST_URL: stack.baseUrl, HOOKPOST_API_KEY: TEST_API_KEY });

function cli(args: string[], options: { env?: Record<string, string | undefined>; input?: string | Buffer } = {}): Promise<Run> {
  const child = spawn(process.execPath, [BIN, ...args], { env: cliEnv(options.env ?? loggedIn()), stdio: ['pipe', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout!.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
  child.stderr!.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  child.stdin!.end(options.input ?? '');
  return new Promise((resolve) => child.once('close', (code) => resolve({ code, stdout, stderr })));
}

/** A command that runs until stopped (tail, listen), with its stdout as lines. */
function cliRunning(args: string[], env: Record<string, string | undefined> = loggedIn()) {
  const child = spawn(process.execPath, [BIN, ...args], { env: cliEnv(env), stdio: ['ignore', 'pipe', 'pipe'] });
  children.push(child);
  const lines: string[] = [];
  let stderr = '';
  readline.createInterface({ input: child.stdout! }).on('line', (line) => lines.push(line));
  child.stderr!.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const exited = new Promise<number | null>((resolve) => child.once('close', (code) => resolve(code)));
  return { child, lines, stderr: () => stderr, exited };
}

function parsed(run: Run): any {
  expect({ code: run.code, stderr: run.stderr }).toEqual({ code: 0, stderr: expect.any(String) });
  return JSON.parse(run.stdout);
}

async function newApp(name: string): Promise<string> {
  return parsed(await cli(['apps', 'create', name, '--json'])).id;
}

/** A loopback port where nothing listens, outside the ports fetch refuses to call (its "bad ports", all below 1024 but 989-995). */
async function refusedPort(): Promise<number> {
  for (let port = 700; port < 989; port += 1) {
    const refused = await new Promise<boolean>((resolve) => {
      const socket = net.connect({ host: '127.0.0.1', port });
      socket.once('connect', () => {
        socket.destroy();
        resolve(false);
      });
      socket.once('error', (error: NodeJS.ErrnoException) => resolve(error.code === 'ECONNREFUSED'));
    });
    if (refused) return port;
  }
  throw new Error('no refused port on 127.0.0.1');
}

describe('hookpost login and logout', () => {
  it('checks the key before storing it, stores it mode 0600 in a 0700 directory, and forgets it on logout', async () => {
    const configHome = await mkdtemp(path.join(home, 'login-'));
    const env = { XDG_CONFIG_HOME: configHome };
    const configFile = path.join(configHome, 'hookpost', 'config.json');

    // When a wrong key is given, nothing is stored and the exit status says "key refused"
    const refused = await cli(['login', '--url', stack.baseUrl, '--api-key', 'not-the-key-0123456789'], { env });
    expect(refused.code).toBe(4);
    expect(refused.stderr).toMatch(/^hookpost: the API key was refused \(HTTP 401 authentication_failed\)/);
    await expect(stat(configFile)).rejects.toMatchObject({ code: 'ENOENT' });

    // When the right key comes on stdin (no terminal, no --api-key)
    const login = await cli(['login', '--url', stack.baseUrl, '--json'], { env, input: `${TEST_API_KEY}\n` });
    expect(parsed(login)).toEqual({ url: stack.baseUrl, configFile });

    // Then it is stored for the owner only, and later commands use it
    expect((await stat(configFile)).mode & 0o777).toBe(0o600);
    expect((await stat(path.dirname(configFile))).mode & 0o777).toBe(0o700);
    const apps = parsed(await cli(['apps', 'list', '--json'], { env }));
    expect(apps).toMatchObject({ data: expect.any(Array), done: expect.any(Boolean) });
    expect(apps.data.map((app: { uid: string }) => app.uid)).toContain('default');

    // When logging out, the file goes, and commands say how to log in again
    expect(parsed(await cli(['logout', '--json'], { env }))).toEqual({ removed: true, configFile });
    await expect(stat(configFile)).rejects.toMatchObject({ code: 'ENOENT' });
    const after = await cli(['apps', 'list'], { env });
    expect(after.code).toBe(4);
    expect(after.stderr).toBe('hookpost: not logged in: run `hookpost login`, or set HOOKPOST_URL and HOOKPOST_API_KEY\n');
  });
});

describe('hookpost errors', () => {
  it('explain themselves in one line, with an exit status per kind of failure', async () => {
    // Hookpost unreachable: 3, and says so
    const port = await refusedPort();
    const unreachable = await cli(['apps', 'list'], { env: { HOOKPOST_URL: `http://127.0.0.1:${port}`, HOOKPOST_API_KEY: TEST_API_KEY } });
    expect(unreachable.code).toBe(3);
    expect(unreachable.stderr).toMatch(new RegExp(`^hookpost: cannot connect to http://127.0.0.1:${port}: connection refused. Is Hookpost running there`));
    expect(unreachable.stderr.trim().split('\n')).toHaveLength(1);

    // Hookpost refuses: 1, with its own words; as JSON on stderr with --json
    const missing = await cli(['apps', 'get', 'app_missing-one']);
    expect(missing).toMatchObject({ code: 1, stdout: '', stderr: 'hookpost: No application app_missing-one. (HTTP 404 not_found)\n' });
    const missingJson = await cli(['apps', 'get', 'app_missing-one', '--json']);
    expect(missingJson.code).toBe(1);
    expect(JSON.parse(missingJson.stderr)).toEqual({ error: expect.objectContaining({ status: 404, code: 'not_found', exitCode: 1 }) });
    const invalid = await cli(['endpoints', 'create', 'default', 'not a url']);
    expect(invalid.code).toBe(1);
    expect(invalid.stderr).toMatch(/^hookpost: url: .*\(HTTP 422 validation\)\n$/);

    // The command line is wrong: 2, before any call
    expect(await cli(['apps', 'frobnicate'])).toMatchObject({ code: 2, stderr: expect.stringMatching(/unknown command `hookpost apps frobnicate`/) });
    expect(await cli(['send', 'default', 'x.y', '[1,2]'])).toMatchObject({ code: 2, stderr: expect.stringMatching(/must be a JSON object/) });
    expect(await cli(['attempts', 'default'])).toMatchObject({ code: 2, stderr: expect.stringMatching(/--message <msg> or --endpoint <ep>/) });
  });
});

describe('hookpost apps, endpoints, send, messages, attempts, resend and verify', () => {
  it('drives an application from the command line, and verifies a delivery captured at the receiver', async () => {
    // Given an application and an endpoint made with the CLI
    const uid = `cli-${Date.now().toString(36)}`;
    const created = parsed(await cli(['apps', 'create', 'CLI Inc', '--uid', uid, '--metadata', 'plan=pro', '--json']));
    expect(created).toMatchObject({ name: 'CLI Inc', uid, metadata: { plan: 'pro' } });
    const listed = parsed(await cli(['apps', 'list', '--all', '--json']));
    expect(listed.data.map((app: { id: string }) => app.id)).toContain(created.id);
    const table = await cli(['apps', 'get', uid]);
    expect(table.stdout).toMatch(new RegExp(`^id +${created.id}$`, 'm'));
    expect(table.stdout).not.toMatch(/\u001b\[/); // (not a terminal: no colour)

    const target = await receiver();
    const endpoint = parsed(await cli(['endpoints', 'create', uid, target.url, '--uid', 'main', '--event-types', 'invoice.paid', '--json']));
    expect(endpoint).toMatchObject({ url: target.url, uid: 'main', filterTypes: ['invoice.paid'] });
    expect(parsed(await cli(['endpoints', 'list', uid, '--json'])).data.map((each: { id: string }) => each.id)).toEqual([endpoint.id]);

    // When a message is sent with its payload on stdin
    const body = '{"invoice": "in_1", "amount": 4200}';
    const message = parsed(await cli(['send', uid, 'invoice.paid', '--json'], { input: body }));
    expect(message).toMatchObject({ eventType: 'invoice.paid', payload: { invoice: 'in_1', amount: 4200 } });

    // Then the receiver gets it, and messages and attempts show it
    const delivered = await eventually(async () => target.requests[0], { what: 'the delivery' });
    expect(JSON.parse(delivered.body)).toEqual({ invoice: 'in_1', amount: 4200 });
    expect(delivered.headers['webhook-id']).toBe(message.id);
    expect(parsed(await cli(['messages', uid, '--json'])).data.map((each: { id: string }) => each.id)).toEqual([message.id]);
    expect(parsed(await cli(['messages', uid, '--event-types', 'invoice.failed', '--json'])).data).toEqual([]);
    expect(parsed(await cli(['messages', uid, message.id, '--json']))).toMatchObject({ id: message.id, payload: { invoice: 'in_1' } });
    const attempts = await eventually(async () => {
      const page = parsed(await cli(['attempts', uid, '--message', message.id, '--json']));
      return page.data.length === 1 ? page : undefined;
    }, { what: 'the attempt in the read model' });
    expect(attempts.data[0]).toMatchObject({ msgId: message.id, endpointId: endpoint.id, responseStatusCode: 200, statusText: 'success', triggerType: 0 });
    expect((await cli(['attempts', uid, '--endpoint', 'main'])).stdout).toMatch(new RegExp(`success +200 .*${message.id}`));

    // When it is resent, a second, manual delivery arrives
    expect(parsed(await cli(['resend', uid, message.id, 'main', '--json']))).toEqual({ resent: true, app: uid, message: message.id, endpoint: 'main' });
    await eventually(async () => target.requests[1], { what: 'the resent delivery' });
    await eventually(async () => {
      const page = parsed(await cli(['attempts', uid, '-m', message.id, '-e', 'main', '--json']));
      return page.data[0]?.triggerType === 1 ? true : undefined;
    }, { what: 'the manual attempt' });

    // And the captured delivery verifies with the endpoint's secret, and nothing altered does
    const secret = (await cli(['endpoints', 'secret', uid, 'main'])).stdout.trim();
    expect(secret).toMatch(/^whsec_/);
    const headers = Object.entries(delivered.headers).map(([name, value]) => `${name}: ${String(value)}`).join('\r\n');
    const capture = path.join(home, `capture-${uid}.txt`);
    await writeFile(capture, `POST /webhook HTTP/1.1\r\n${headers}\r\n\r\n${delivered.body}`);
    expect(parsed(await cli(['verify', '--secret', secret, '--request', capture, '--json'], { env: {} }))).toMatchObject({ verified: true, id: message.id });
    const headerFile = path.join(home, `headers-${uid}.json`);
    await writeFile(headerFile, JSON.stringify(delivered.headers));
    const fromStdin = await cli(['verify', '--headers', headerFile], { env: { HOOKPOST_WEBHOOK_SECRET: secret }, input: delivered.body });
    expect(fromStdin).toMatchObject({ code: 0, stdout: expect.stringMatching(/^Signature verified: msg_/) });
    const tampered = await cli(['verify', '--secret', secret, '--headers', headerFile], { env: {}, input: delivered.body.replace('4200', '4201') });
    expect(tampered).toMatchObject({ code: 5, stderr: 'hookpost: signature not verified: no matching signature found\n' });
    const otherSecret = `whsec_${Buffer.alloc(32, 7).toString('base64')}`;
    expect((await cli(['verify', '--secret', otherSecret, '--request', capture], { env: {} })).code).toBe(5);
    // (the same check a receiver using the standardwebhooks package makes)
    expect(() => new StandardWebhook(secret).verify(delivered.body, delivered.headers as Record<string, string>)).not.toThrow();

    // And the endpoint can be changed and deleted, then the application
    expect(parsed(await cli(['endpoints', 'update', uid, 'main', '--disable', '--event-types', '', '--json']))).toMatchObject({ disabled: true, filterTypes: null });
    expect((await cli(['endpoints', 'delete', uid, 'main'])).code).toBe(0);
    expect(parsed(await cli(['apps', 'delete', uid, '--json']))).toEqual({ deleted: true, app: uid });
    expect((await cli(['apps', 'get', uid])).code).toBe(1);
  });
});

describe('hookpost verify, ed25519', () => {
  it("verifies a v1a delivery with the subscription's whpk_ public key, and refuses the signing key", async () => {
    // Given a seed-API subscription signing with ed25519, and one delivery captured at its receiver
    const target = await receiver();
    const created = await stack.api('POST', '/subscriptions', { name: 'cli-ed25519', target_url: target.url, signature_scheme: 'ed25519' });
    expect(created.status).toBe(201);
    const publicKey = created.body.public_key as string;
    expect((await stack.api('POST', `/ingest/${created.body.id}`, { event_type: 'a.b', data: { n: 1 } })).status).toBe(202);
    const delivered = await eventually(async () => target.requests[0], { what: 'the ed25519 delivery' });
    expect(delivered.headers['webhook-signature']).toMatch(/^v1a,/);
    const headers = ['webhook-id', 'webhook-timestamp', 'webhook-signature'].flatMap((name) => ['-H', `${name}: ${String(delivered.headers[name])}`]);

    // Then its public key verifies it (body on stdin), and an altered body does not
    const verified = await cli(['verify', '--secret', publicKey, ...headers, '--json'], { env: {}, input: delivered.body });
    expect(parsed(verified)).toMatchObject({ verified: true, scheme: 'v1a (ed25519)' });
    expect((await cli(['verify', '--secret', publicKey, ...headers], { env: {}, input: `${delivered.body} ` })).code).toBe(5);
    // and a whsk_ signing key is refused as a usage error: it stays with Hookpost
    expect(await cli(['verify', '--secret', 'whsk_AAAA', ...headers], { env: {}, input: delivered.body })).toMatchObject({ code: 2, stderr: expect.stringMatching(/verify with its public key/) });
  });
});

describe('hookpost recover', () => {
  it('delivers again the messages whose deliveries failed in the window', async () => {
    // Given an endpoint that failed every attempt of two messages
    const app = await newApp('Recovering');
    const flaky = await receiver();
    flaky.reply = () => ({ status: 500, body: 'down' });
    const endpoint = parsed(await cli(['endpoints', 'create', app, flaky.url, '--json']));
    const one = parsed(await cli(['send', app, 'order.created', '{"n": 1}', '--json']));
    const two = parsed(await cli(['send', app, 'order.created', '{"n": 2}', '--json']));
    const failed = async (msgId: string) => (await stack.api('GET', `/api/v1/app/${app}/msg/${msgId}/endpoint`)).body.data[0]?.statusText === 'fail';
    await eventually(async () => ((await failed(one.id)) && (await failed(two.id)) ? true : undefined), { what: 'both deliveries to fail', timeoutMs: 30_000 });
    const failedRequests = flaky.requests.length;

    // When the endpoint is back and recovered since ten minutes ago
    flaky.reply = () => ({ status: 200, body: 'ok' });
    const task = parsed(await cli(['recover', app, endpoint.id, '--since', '10m', '--json']));
    expect(task).toMatchObject({ id: expect.stringMatching(/^qtask_/), status: 'running', task: 'endpoint.recover' });

    // Then both arrive once more
    await eventually(async () => (flaky.requests.length - failedRequests >= 2 ? true : undefined), { what: 'the recovered deliveries' });
    expect(flaky.requests.slice(failedRequests).map((request) => JSON.parse(request.body).n).sort()).toEqual([1, 2]);
    expect(flaky.requests.slice(failedRequests).every((request) => request.answered === 200)).toBe(true);
  });
});

describe('hookpost tail', () => {
  it('prints each attempt as it is recorded: JSON lines, or lines coloured by outcome when asked', async () => {
    // Given an application with a receiver that accepts and one that fails
    const app = await newApp('Tailing');
    const ok = await receiver();
    const failing = await receiver();
    failing.reply = () => ({ status: 503, body: 'busy' });
    parsed(await cli(['endpoints', 'create', app, ok.url, '--json']));
    parsed(await cli(['endpoints', 'create', app, failing.url, '--json']));

    // When tail follows it (as JSON, and as text with colour forced on a pipe)
    const asJson = cliRunning(['tail', app, '--since', '1m', '--interval', '200', '--json']);
    const asText = cliRunning(['tail', app, '--since', '1m', '--interval', '200'], { ...loggedIn(), FORCE_COLOR: '1' });
    const message = parsed(await cli(['send', app, 'thing.happened', '{"n": 1}', '--json']));

    // Then the success and the failure come, once each per attempt
    const seen = await eventually(async () => {
      const attempts = asJson.lines.map((line) => JSON.parse(line) as { id: string; msgId: string; responseStatusCode: number });
      return attempts.some((a) => a.responseStatusCode === 200) && attempts.some((a) => a.responseStatusCode === 503) ? attempts : undefined;
    }, { what: 'tail to print both attempts', timeoutMs: 30_000 });
    expect(seen.every((attempt) => attempt.msgId === message.id)).toBe(true);
    expect(new Set(seen.map((attempt) => attempt.id)).size).toBe(seen.length);
    const lineTo = (url: string) => asText.lines.find((line) => line.includes(url));
    const coloured = await eventually(async () => (lineTo(ok.url) && lineTo(failing.url) ? asText.lines : undefined), { what: 'a line for each attempt' });
    expect(coloured.find((line) => line.includes(ok.url))).toContain('\u001b[32msuccess');
    expect(coloured.find((line) => line.includes(failing.url))).toContain('\u001b[31m503');

    // And SIGTERM ends it, status 0
    asJson.child.kill('SIGTERM');
    asText.child.kill('SIGINT');
    expect(await asJson.exited).toBe(0);
    expect(await asText.exited).toBe(0);
  });
});

describe('hookpost listen', () => {
  it('forwards deliveries to a local port, answers with its status, and deletes its endpoint on SIGTERM', async () => {
    // Given a local service and an application
    const app = await newApp('Listening');
    const local = await receiver();
    local.reply = () => ({ status: 202, headers: { 'content-type': 'text/plain' }, body: 'local ok' });
    const localPort = Number(new URL(local.url).port);

    // When listen runs, and a message is sent to the application
    const listen = cliRunning(['listen', String(localPort), '--app', app, '--path', '/dev/hooks', '--json']);
    const ready = await eventually(async () => (listen.lines[0] ? JSON.parse(listen.lines[0]) : undefined), { what: `listen to be ready (${listen.stderr()})` });
    expect(ready).toMatchObject({ event: 'ready', endpointId: expect.stringMatching(/^ep_/), endpointUrl: expect.stringMatching(/^http:\/\/127\.0\.0\.1:\d+\/dev\/hooks$/) });
    expect(ready.secret).toMatch(/^whsec_/);
    const message = parsed(await cli(['send', app, 'local.test', '{"hello": "local"}', '--json']));

    // Then the local service gets it: same path, body and signature headers, verifiable with the endpoint's secret
    const forwarded = await eventually(async () => local.requests[0], { what: 'the forwarded delivery' });
    expect(forwarded).toMatchObject({ method: 'POST', url: '/dev/hooks', body: '{"hello":"local"}' });
    expect(forwarded.headers['webhook-id']).toBe(message.id);
    expect(() => new StandardWebhook(ready.secret).verify(forwarded.body, forwarded.headers as Record<string, string>)).not.toThrow();
    // and listen prints a line for it, and Hookpost recorded the local service's answer
    const line = await eventually(async () => listen.lines.map((each) => JSON.parse(each)).find((each) => each.event === 'delivery'), { what: 'the delivery line' });
    expect(line).toMatchObject({ method: 'POST', path: '/dev/hooks', webhookId: message.id, status: 202, signature: 'verified' });
    const attempt = await eventually(async () => (await stack.api('GET', `/api/v1/app/${app}/attempt/msg/${message.id}`)).body.data[0], { what: 'the attempt' });
    expect(attempt).toMatchObject({ endpointId: ready.endpointId, responseStatusCode: 202, response: 'local ok' });

    // When it is stopped, its endpoint is gone
    listen.child.kill('SIGTERM');
    expect(await listen.exited).toBe(0);
    expect(JSON.parse(listen.lines[listen.lines.length - 1]!)).toEqual({ event: 'stopped', endpointId: ready.endpointId, deleted: true });
    expect((await stack.api('GET', `/api/v1/app/${app}/endpoint/${ready.endpointId}`)).status).toBe(404);
  });

  it('says which setting allows it when Hookpost refuses to deliver to loopback', async () => {
    const app = await newApp('Refused');
    const local = await receiver();
    await stack.restart('gateway', { HOOKPOST_ALLOWED_TARGET_CIDRS: '' });
    try {
      const run = await cli(['listen', new URL(local.url).port, '--app', app]);
      expect(run.code).toBe(1);
      expect(run.stderr).toMatch(/Hookpost refuses to deliver to http:\/\/127\.0\.0\.1:\d+\/: url: is not a public address: 127\.0\.0\.1 is loopback\./);
      expect(run.stderr).toMatch(/HOOKPOST_ALLOWED_TARGET_CIDRS=127\.0\.0\.1\/32:<port> and run listen with --listen-port <port>\.\n$/);
      expect(parsed(await cli(['endpoints', 'list', app, '--json'])).data).toEqual([]);
    } finally {
      await stack.restart('gateway');
    }
  });
});
