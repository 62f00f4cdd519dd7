import { decideArrival, idempotencyKeyProblem, idempotencyScope, keepsAnswer, requestFingerprint, type DoneRecord, type RunningRecord } from '../src/idempotency';
import { decodeIdempotencyRecord, encodeIdempotencyRecord } from '../src/redisIdempotencyStore';

// The pure parts: which keys are usable, what scopes and fingerprints distinguish, what a request does with
// the record it finds, which answers are kept, and the record format. The Redis side is in the int test.
describe('idempotency keys', () => {
  it.each([
    ['auto_4b7c1f64-0d6b-4f6e-9a0e-2a9a3c7d1e55', undefined],
    ['a', undefined],
    ['order-42/retry', undefined],
    ['x'.repeat(256), undefined],
    ['', 'must not be empty'],
    ['x'.repeat(257), 'must be at most 256 characters'],
    ['order 42', 'must be visible ASCII characters (no spaces)'],
    ['tab\there', 'must be visible ASCII characters (no spaces)'],
    ['café', 'must be visible ASCII characters (no spaces)'],
    ['nul\u0000', 'must be visible ASCII characters (no spaces)'],
  ])('%j → %s', (key, problem) => {
    expect(idempotencyKeyProblem(key)).toBe(problem);
  });
});

describe('idempotency scope', () => {
  const base = idempotencyScope('principal-a', 'POST', '/api/v1/app/app_1/msg', 'k1');

  it('is stable and fixed-length, and names nothing in clear', () => {
    expect(idempotencyScope('principal-a', 'POST', '/api/v1/app/app_1/msg', 'k1')).toBe(base);
    expect(base).toMatch(/^[0-9a-f]{64}$/);
  });

  it.each([
    ['another principal', ['principal-b', 'POST', '/api/v1/app/app_1/msg', 'k1']],
    ['another path', ['principal-a', 'POST', '/api/v1/app/app_2/msg', 'k1']],
    ['another method', ['principal-a', 'PUT', '/api/v1/app/app_1/msg', 'k1']],
    ['another key', ['principal-a', 'POST', '/api/v1/app/app_1/msg', 'k2']],
    // Plain concatenation would make these two the same string.
    ['the same characters split differently', ['principal-a', 'POST', '/api/v1/app/app_1/ms', 'gk1']],
  ] as const)('differs for %s', (_, [principal, method, path, key]) => {
    expect(idempotencyScope(principal, method, path, key)).not.toBe(base);
  });
});

describe('request fingerprint', () => {
  it('is the same for the same query and body, whatever object identity', () => {
    expect(requestFingerprint('', { eventType: 'a', payload: { n: 1 } })).toBe(requestFingerprint('', { eventType: 'a', payload: { n: 1 } }));
  });

  it.each([
    ['another body', '', { n: 2 }],
    ['another query', 'with_content=false', { n: 1 }],
    ['no body', '', undefined],
    ['a null body', '', null],
  ])('differs for %s', (_, query, body) => {
    expect(requestFingerprint(query, body)).not.toBe(requestFingerprint('', { n: 1 }));
  });

  it('tells an absent body from a null one', () => {
    expect(requestFingerprint('', undefined)).not.toBe(requestFingerprint('', null));
  });
});

describe('decideArrival', () => {
  const running: RunningRecord = { state: 'running', owner: 'o1', fingerprint: 'f1' };
  const done: DoneRecord = { state: 'done', fingerprint: 'f1', response: { status: 201, headers: {}, body: '' } };

  it('waits for a running twin, replays a finished one', () => {
    expect(decideArrival(running, 'f1')).toBe('wait');
    expect(decideArrival(done, 'f1')).toBe('replay');
  });

  it('refuses a key reused for another request, running or finished', () => {
    expect(decideArrival(running, 'f2')).toBe('mismatch');
    expect(decideArrival(done, 'f2')).toBe('mismatch');
  });
});

describe('keepsAnswer', () => {
  it.each([200, 201, 202, 204, 400, 401, 404, 409, 413, 422])('keeps %i: the outcome of the request', (status) => {
    expect(keepsAnswer(status)).toBe(true);
  });
  it.each([408, 425, 429, 500, 502, 503, 504, 301, 304])('does not keep %i: not an outcome, or nothing was recorded', (status) => {
    expect(keepsAnswer(status)).toBe(false);
  });
});

describe('idempotency record format', () => {
  const done: DoneRecord = {
    state: 'done',
    fingerprint: 'f1',
    response: { status: 201, headers: { 'content-type': 'application/json', location: '/x/1', link: ['<a>', '<b>'] }, body: Buffer.from('{"id":"1"}').toString('base64') },
  };
  const running: RunningRecord = { state: 'running', owner: 'o1', fingerprint: 'f1' };

  it('reads back what it wrote', () => {
    expect(decodeIdempotencyRecord(encodeIdempotencyRecord(done))).toEqual(done);
    expect(decodeIdempotencyRecord(encodeIdempotencyRecord(running))).toEqual(running);
  });

  it.each([
    ['not JSON', 'running'],
    ['another version', JSON.stringify({ v: 2, state: 'running', owner: 'o', fingerprint: 'f' })],
    ['no fingerprint', JSON.stringify({ v: 1, state: 'running', owner: 'o' })],
    ['an unknown state', JSON.stringify({ v: 1, state: 'paused', fingerprint: 'f' })],
    ['a running record without owner', JSON.stringify({ v: 1, state: 'running', fingerprint: 'f' })],
    ['a fractional status', JSON.stringify({ v: 1, state: 'done', fingerprint: 'f', response: { status: 20.5, headers: {}, body: '' } })],
    ['a header of another type', JSON.stringify({ v: 1, state: 'done', fingerprint: 'f', response: { status: 201, headers: { etag: 5 }, body: '' } })],
    ['no body', JSON.stringify({ v: 1, state: 'done', fingerprint: 'f', response: { status: 201, headers: {} } })],
    ['null', 'null'],
  ])('refuses %s', (_, text) => {
    expect(decodeIdempotencyRecord(text)).toBeUndefined();
  });
});
