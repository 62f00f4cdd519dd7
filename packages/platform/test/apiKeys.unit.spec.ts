import express from 'express';
import type { AddressInfo } from 'node:net';
import { apiKeysFrom, requireApiKey } from '../src/apiKeys';
import { problemMiddleware } from '../src/problem';
import { createLogger } from '../src/logger';

describe('API keys', () => {
  it('refuse to start without a key unless told to run open', () => {
    expect(() => apiKeysFrom({ HOOKPOST_API_KEYS: [], HOOKPOST_ALLOW_NO_AUTH: false })).toThrow('no API keys');
    expect(apiKeysFrom({ HOOKPOST_API_KEYS: [], HOOKPOST_ALLOW_NO_AUTH: true })).toEqual([]);
    expect(() => apiKeysFrom({ HOOKPOST_API_KEYS: ['short'], HOOKPOST_ALLOW_NO_AUTH: false })).toThrow('16 characters');
  });

  it('accept any configured key as a Bearer token and answer 401 problem+json otherwise', async () => {
    const app = express();
    app.use(requireApiKey(['first-key-0123456789', 'second-key-0123456789'], (path) => path === '/healthz'));
    app.get('/healthz', (_req, res) => void res.send('ok'));
    app.get('/thing', (_req, res) => void res.send('thing'));
    app.use(problemMiddleware(createLogger('test', 'silent')));
    const server = app.listen(0, '127.0.0.1');
    await new Promise((resolve) => server.once('listening', resolve));
    const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    const call = (path: string, authorization?: string) => fetch(`${base}${path}`, { headers: authorization ? { authorization } : {} });
    try {
      expect((await call('/healthz')).status).toBe(200);
      expect((await call('/thing', 'Bearer second-key-0123456789')).status).toBe(200);
      expect((await call('/thing', 'bearer first-key-0123456789')).status).toBe(200);
      for (const authorization of [undefined, 'Bearer nope', 'Basic Zmlyc3Qta2V5', 'Bearer first-key-012345678', 'first-key-0123456789']) {
        const answer = await call('/thing', authorization);
        expect(answer.status).toBe(401);
        expect(answer.headers.get('content-type')).toMatch(/^application\/problem\+json/);
        expect(answer.headers.get('www-authenticate')).toMatch(/^Bearer/);
      }
    } finally {
      server.close();
    }
  });
});
