import { pbkdf2 } from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { TargetPolicy } from '@hookpost/platform';
import { caresResolver, DnsFailure } from '../src/adapters/caresResolver';
import { HttpEndpointClient } from '../src/adapters/httpEndpointClient';
import { loopbackDns } from './support/loopbackDns';

// Every name server here is on 127.0.0.1: nothing leaves the machine.
let silent: Awaited<ReturnType<typeof loopbackDns>>;
let answering: Awaited<ReturnType<typeof loopbackDns>>;
let receiver: http.Server;
let port: number;

beforeAll(async () => {
  silent = await loopbackDns('silent');
  answering = await loopbackDns({ 'hook.test': ['127.0.0.1'] });
  receiver = http.createServer((_req, res) => res.end('fine'));
  await new Promise<void>((resolve) => receiver.listen(0, '127.0.0.1', resolve));
  port = (receiver.address() as AddressInfo).port;
});

afterAll(async () => {
  await silent.close();
  await answering.close();
  receiver.closeAllConnections();
  await new Promise((resolve) => receiver.close(resolve));
});

describe('caresResolver (c-ares, on loopback name servers)', () => {
  it('gives up on a name server that never answers within its timeout, without holding a libuv worker thread', async () => {
    // Given a resolver whose only name server swallows every query
    const resolve = caresResolver({ timeoutMs: 400, servers: [silent.server] });
    const started = Date.now();
    // When sixteen lookups hang on it at once (dns.lookup would need sixteen threads; libuv has four)
    const lookups = Array.from({ length: 16 }, (_, n) => resolve(`slow${n}.test`, 0).then(() => 'resolved', (error: unknown) => error));
    // Then work that needs the thread pool still runs at once
    const pooled = Date.now();
    await new Promise<void>((done, fail) => pbkdf2('x', 'y', 1, 32, 'sha256', (error) => (error ? fail(error) : done())));
    expect(Date.now() - pooled).toBeLessThan(200);
    // and every lookup fails as a timeout, within the bound
    for (const outcome of await Promise.all(lookups)) {
      expect(outcome).toBeInstanceOf(DnsFailure);
      expect((outcome as DnsFailure).reason).toBe('DNS lookup timed out');
    }
    expect(Date.now() - started).toBeLessThan(400 + 300);
    expect(silent.asked).toContain('slow0.test');
  });

  it('resolves names the server knows, says "host not found" for the others, and answers localhost and IP literals itself', async () => {
    const resolve = caresResolver({ timeoutMs: 1_000, servers: [answering.server] });
    expect(await resolve('hook.test', 0)).toEqual([{ address: '127.0.0.1', family: 4 }]);
    await expect(resolve('nowhere.test', 0)).rejects.toMatchObject({ reason: 'host not found' });
    const viaSilent = caresResolver({ timeoutMs: 200, servers: [silent.server] });
    expect(await viaSilent('localhost', 0)).toEqual([
      { address: '127.0.0.1', family: 4 },
      { address: '::1', family: 6 },
    ]);
    expect(await viaSilent('api.localhost', 4)).toEqual([{ address: '127.0.0.1', family: 4 }]);
    expect(await viaSilent('192.0.2.1', 0)).toEqual([{ address: '192.0.2.1', family: 4 }]);
    expect(silent.asked).not.toContain('localhost');
  });
});

describe('HttpEndpointClient resolving through c-ares', () => {
  it('delivers to a name the resolver knows, checked by the target policy', async () => {
    const client = new HttpEndpointClient(new TargetPolicy(['127.0.0.0/8']), { resolve: caresResolver({ timeoutMs: 1_000, servers: [answering.server] }) });
    const refusing = new HttpEndpointClient(new TargetPolicy([]), { resolve: caresResolver({ timeoutMs: 1_000, servers: [answering.server] }) });
    try {
      expect((await client.post(`http://hook.test:${port}/`, {}, '{}', 2_000)).result).toMatchObject({ kind: 'response', statusCode: 200 });
      expect((await refusing.post(`http://hook.test:${port}/`, {}, '{}', 2_000)).result).toEqual({
        kind: 'blocked',
        error: 'target_url is not a public address: hook.test resolves to a non-public address; delivery refused',
      });
      expect((await client.post(`http://nowhere.test:${port}/`, {}, '{}', 2_000)).result).toEqual({ kind: 'network-error', error: 'host not found' });
    } finally {
      await client.close();
      await refusing.close();
    }
  });

  it('fails an attempt whose lookup times out as a network error (retried), well within the attempt timeout', async () => {
    const client = new HttpEndpointClient(new TargetPolicy(['127.0.0.0/8']), { resolve: caresResolver({ timeoutMs: 300, servers: [silent.server] }) });
    try {
      const attempt = await client.post(`http://tarpit-zone.test:${port}/`, {}, '{}', 5_000);
      expect(attempt.result).toEqual({ kind: 'network-error', error: 'DNS lookup timed out' });
      expect(attempt.duration_ms).toBeLessThan(1_000);
    } finally {
      await client.close();
    }
  });
});
