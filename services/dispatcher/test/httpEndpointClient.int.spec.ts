import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { TargetPolicy } from '@hookpost/platform';
import { HttpEndpointClient } from '../src/adapters/httpEndpointClient';

let server: http.Server;
let base: string;
const client = new HttpEndpointClient(new TargetPolicy(['127.0.0.0/8']));
let seen: { headers: http.IncomingHttpHeaders; body: string }[] = [];

beforeAll(async () => {
  server = http.createServer((req, res) => {
    let body = '';
    req.on('data', (chunk) => (body += chunk));
    req.on('end', () => {
      seen.push({ headers: req.headers, body });
      switch (req.url) {
        case '/ok':
          res.writeHead(200, { 'x-answer': 'yes' }).end('fine');
          return;
        case '/redirect':
          res.writeHead(302, { location: '/ok' }).end();
          return;
        case '/big':
          res.writeHead(500).end('x'.repeat(100_000));
          return;
        case '/nul':
          res.writeHead(400).end('bad\u0000byte');
          return;
        case '/hang':
          return;
        case '/reset':
          req.socket.resetAndDestroy();
          return;
        case '/busy':
          res.writeHead(503, { 'retry-after': '7' }).end();
          return;
      }
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

afterAll(async () => {
  await client.close();
  server.closeAllConnections();
  await new Promise((resolve) => server.close(resolve));
});

beforeEach(() => {
  seen = [];
});

describe('HttpEndpointClient (real HTTP on loopback)', () => {
  it('refuses a target that is not an absolute http(s) URL instead of throwing', async () => {
    for (const [url, reason] of [
      ['not a url', 'target_url is not an absolute URL; delivery refused'],
      ['ftp://127.0.0.1/hook', 'target_url uses ftp:, not http or https; delivery refused'],
    ] as const) {
      const answer = await client.post(url, {}, '{}', 1_000);
      expect(answer.result).toEqual({ kind: 'blocked', error: reason });
    }
  });

  it('POSTs the body and headers and records the answer', async () => {
    const answer = await client.post(`${base}/ok`, { 'content-type': 'application/json', 'webhook-id': 'msg_1' }, '{"a":1}', 1_000);
    expect(answer.result).toEqual({ kind: 'response', statusCode: 200, retryAfter: undefined });
    expect(answer.response_body).toBe('fine');
    expect(answer.response_headers).toMatchObject({ 'x-answer': 'yes' });
    expect(seen[0]).toMatchObject({ body: '{"a":1}', headers: expect.objectContaining({ 'webhook-id': 'msg_1' }) });
  });

  it('does not follow redirects', async () => {
    const answer = await client.post(`${base}/redirect`, {}, '{}', 1_000);
    expect(answer.result).toMatchObject({ kind: 'response', statusCode: 302 });
    expect(seen).toHaveLength(1);
  });

  it('caps the recorded body and replaces NUL characters', async () => {
    expect((await client.post(`${base}/big`, {}, '{}', 1_000)).response_body).toHaveLength(4_096);
    expect((await client.post(`${base}/nul`, {}, '{}', 1_000)).response_body).toBe('bad\uFFFDbyte');
  });

  it('reads Retry-After', async () => {
    expect((await client.post(`${base}/busy`, {}, '{}', 1_000)).result).toEqual({ kind: 'response', statusCode: 503, retryAfter: '7' });
  });

  it('connects to an allowlisted range only on the port its entry names, and names no resolved address', async () => {
    const other = http.createServer((_req, res) => res.end('should never be reached'));
    let reached = 0;
    other.on('connection', () => (reached += 1));
    await new Promise<void>((resolve) => other.listen(0, '127.0.0.1', resolve));
    const otherPort = (other.address() as AddressInfo).port;
    const port = new URL(base).port;
    const receiverOnly = new HttpEndpointClient(new TargetPolicy([`127.0.0.1/32:${port}`, `::1/128:${port}`]));
    try {
      // Given a policy that allows loopback on the receiver's port only
      // When it posts to that port by IP and by name, it connects
      expect((await receiverOnly.post(`${base}/ok`, {}, '{}', 1_000)).result).toMatchObject({ kind: 'response', statusCode: 200 });
      expect((await receiverOnly.post(`http://localhost:${port}/ok`, {}, '{}', 1_000)).result).toMatchObject({ kind: 'response', statusCode: 200 });
      // and to any other loopback port, by IP or by a name resolving there, it does not
      const byIp = await receiverOnly.post(`http://127.0.0.1:${otherPort}/`, {}, '{}', 1_000);
      expect(byIp.result).toEqual({ kind: 'blocked', error: 'target_url is not a public address: 127.0.0.1 is loopback; delivery refused' });
      const byName = await receiverOnly.post(`http://localhost:${otherPort}/`, {}, '{}', 1_000);
      expect(byName.result).toEqual({
        kind: 'blocked',
        error: 'target_url is not a public address: localhost resolves to a non-public address; delivery refused',
      });
      expect(reached).toBe(0);
    } finally {
      await receiverOnly.close();
      await new Promise((resolve) => other.close(resolve));
    }
  });

  it('turns a hang into a timeout, a reset and a refused connection into network errors', async () => {
    const hung = await client.post(`${base}/hang`, {}, '{}', 300);
    expect(hung.result).toEqual({ kind: 'network-error', error: 'timed out after 300 ms' });
    expect(hung.duration_ms).toBeGreaterThanOrEqual(290);
    expect((await client.post(`${base}/reset`, {}, '{}', 1_000)).result).toEqual({ kind: 'network-error', error: 'connection reset' });
    const closed = http.createServer();
    await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
    const port = (closed.address() as AddressInfo).port;
    await new Promise((resolve) => closed.close(resolve));
    expect((await client.post(`http://127.0.0.1:${port}/`, {}, '{}', 1_000)).result).toEqual({ kind: 'network-error', error: 'connection refused' });
  });
});
