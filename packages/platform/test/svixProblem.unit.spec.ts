import type { AddressInfo } from 'node:net';
import type { Server } from 'node:http';
import express from 'express';
import { Conflict, HttpProblem, jsonBody, NotFound, ServiceUnavailable, ValidationFailed } from '../src';
import { svixNotFoundRoute, svixProblemMiddleware } from '../src/svixProblem';

describe('the Svix problem middleware', () => {
  const logged: object[] = [];
  let server: Server;
  let base: string;

  beforeAll(async () => {
    const app = express();
    const v1 = express.Router();
    v1.use(jsonBody(1024));
    v1.get('/missing', () => {
      throw new NotFound();
    });
    v1.post('/taken', () => {
      throw new Conflict('An application with this uid exists.');
    });
    v1.post('/named-code', () => {
      throw new HttpProblem(409, 'Conflict', 'Duplicate eventId.', { code: 'duplicate_event_id' });
    });
    v1.post('/invalid', () => {
      throw new ValidationFailed([{ field: 'url', message: 'must match format "uri"' }, { field: 'query.limit', message: 'must be <= 250' }]);
    });
    v1.get('/busy', () => {
      throw new ServiceUnavailable('The event log cannot take the write.', 7);
    });
    v1.get('/bug', () => {
      throw new Error('boom');
    });
    v1.post('/echo', (req, res) => res.json(req.body));
    v1.use(svixNotFoundRoute);
    v1.use(svixProblemMiddleware({ error: (obj) => logged.push(obj) }));
    app.use('/api/v1', v1);
    server = app.listen(0, '127.0.0.1');
    await new Promise((resolve) => server.once('listening', resolve));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}/api/v1`;
  });

  afterAll(async () => {
    await new Promise((resolve) => server.close(resolve));
  });

  async function call(path: string, init?: RequestInit) {
    const res = await fetch(base + path, init);
    return { status: res.status, type: res.headers.get('content-type'), retryAfter: res.headers.get('retry-after'), body: await res.json() };
  }
  const post = (body: string, contentType = 'application/json'): RequestInit => ({ method: 'POST', headers: { 'content-type': contentType }, body });

  it('Given a problem, it answers {code, detail} as application/json', async () => {
    expect(await call('/missing')).toMatchObject({ status: 404, type: expect.stringMatching(/^application\/json/), body: { code: 'not_found', detail: 'No such resource.' } });
    expect((await call('/taken', post('{}'))).body).toEqual({ code: 'conflict', detail: 'An application with this uid exists.' });
    expect((await call('/named-code', post('{}'))).body).toEqual({ code: 'duplicate_event_id', detail: 'Duplicate eventId.' });
  });

  it('Given a validation failure, it answers 422 with Svix locations', async () => {
    expect(await call('/invalid', post('{}'))).toMatchObject({
      status: 422,
      body: {
        detail: [
          { loc: ['body', 'url'], msg: 'must match format "uri"', type: 'value_error' },
          { loc: ['query', 'limit'], msg: 'must be <= 250', type: 'value_error' },
        ],
      },
    });
  });

  it('Given 503, it keeps Retry-After', async () => {
    expect(await call('/busy')).toMatchObject({ status: 503, retryAfter: '7', body: { code: 'service_unavailable' } });
  });

  it('Given body-parser failures, it answers in the Svix shape too', async () => {
    expect(await call('/echo', post('{not json'))).toMatchObject({ status: 400, body: { code: 'generic_error', detail: 'The body is not valid JSON.' } });
    expect(await call('/echo', post(JSON.stringify({ a: 'x'.repeat(2000) })))).toMatchObject({ status: 413, body: { code: 'payload_too_large' } });
    expect(await call('/echo', post('{}', 'text/plain'))).toMatchObject({ status: 415, body: { code: 'unsupported_media_type' } });
    expect(await call('/echo', post('{"a":"\\u0000"}'))).toMatchObject({ status: 422, body: { detail: [{ loc: ['body'] }] } });
  });

  it('Given an unexpected error, it logs it and answers 500 without its message', async () => {
    const answer = await call('/bug');
    expect(answer).toMatchObject({ status: 500, body: { code: 'server_error', detail: 'Something went wrong on our side.' } });
    expect(logged).toHaveLength(1);
  });

  it('Given a path it does not serve, it answers 404 in the Svix shape', async () => {
    expect(await call('/nowhere')).toMatchObject({ status: 404, body: { code: 'not_found' } });
  });
});
