import { ApiError, UsageError } from '../src/errors';
import { parseCapturedRequest, parseHeaders, mergeHeaders } from '../src/commands/verify';
import { attemptStatus, parsePayload } from '../src/commands/messages';
import { deliveryLine, refusedTargetHint } from '../src/commands/listen';
import { forwardableHeaders } from '../src/listen/localForwarder';
import { painter } from '../src/output';

describe('send: the payload', () => {
  it('is a JSON object', () => {
    expect(parsePayload('{"id": 1, "items": [1, 2]}', 'stdin')).toEqual({ id: 1, items: [1, 2] });
    expect(() => parsePayload('[1, 2]', 'stdin')).toThrow('the payload (stdin) must be a JSON object');
    expect(() => parsePayload('null', 'argument')).toThrow(UsageError);
    expect(() => parsePayload('{id: 1}', 'payload.json')).toThrow(/the payload \(payload.json\) is not JSON/);
  });
});

describe('attempts: --status', () => {
  it('takes the names the API shows, and its numbers', () => {
    expect(attemptStatus('success')).toBe(0);
    expect(attemptStatus('fail')).toBe(2);
    expect(attemptStatus('3')).toBe(3);
    expect(attemptStatus(undefined)).toBeUndefined();
    expect(() => attemptStatus('ok')).toThrow('--status takes success, pending, fail or sending');
  });
});

describe('verify: reading a captured webhook', () => {
  it('reads header lines (skipping a request or status line) and JSON objects, names in lower case', () => {
    expect(parseHeaders('POST /hook HTTP/1.1\r\nWebhook-Id: msg_1\r\nwebhook-timestamp: 1700000000\r\nWebhook-Signature: v1,abc= v1,def=\r\n', 'h.txt')).toEqual({
      'webhook-id': 'msg_1',
      'webhook-timestamp': '1700000000',
      'webhook-signature': 'v1,abc= v1,def=',
    });
    expect(parseHeaders('{"Webhook-Id": "msg_1", "webhook-timestamp": 1700000000, "x": ["a", "b"]}', 'h.json')).toEqual({
      'webhook-id': 'msg_1',
      'webhook-timestamp': '1700000000',
      x: 'a',
    });
    expect(() => parseHeaders('no colon here', 'h.txt')).toThrow('h.txt: not a header line');
  });

  it('splits a whole request at the first empty line and keeps the body byte for byte', () => {
    const body = '{"a":"é"}\r\n\r\n{"not":"headers"}\n';
    const raw = Buffer.concat([Buffer.from('POST / HTTP/1.1\r\nwebhook-id: msg_1\r\n\r\n'), Buffer.from(body, 'utf8')]);
    const parsed = parseCapturedRequest(raw, 'req.txt');
    expect(parsed.headers).toEqual({ 'webhook-id': 'msg_1' });
    expect(parsed.body.toString('utf8')).toBe(body);
    expect(parseCapturedRequest(Buffer.from('webhook-id: x\n\n{}'), 'lf.txt').body.toString()).toBe('{}');
    expect(() => parseCapturedRequest(Buffer.from('webhook-id: x'), 'r')).toThrow('no empty line');
  });

  it('lets later sources win', () => {
    expect(mergeHeaders({ a: '1', b: '1' }, undefined, { b: '2' }, { c: '3' })).toEqual({ a: '1', b: '2', c: '3' });
  });
});

describe('listen', () => {
  it('forwards end-to-end headers and drops connection-level ones and Host', () => {
    expect(
      forwardableHeaders({
        host: '127.0.0.1:4000',
        connection: 'keep-alive, x-hop',
        'x-hop': 'drop me',
        'keep-alive': 'timeout=5',
        'transfer-encoding': 'chunked',
        'content-length': '10',
        'content-type': 'application/json',
        'webhook-id': 'msg_1',
        'set-cookie': ['a=1', 'b=2'],
      }),
    ).toEqual({ 'content-type': 'application/json', 'webhook-id': 'msg_1', 'set-cookie': ['a=1', 'b=2'] });
  });

  it('explains a refused loopback target with the setting that allows it', () => {
    const refused = new ApiError(422, 'validation', 'url: is not a public address: 127.0.0.1 is loopback');
    expect(refusedTargetHint(refused, 'http://127.0.0.1:8787/', true)).toMatch(/HOOKPOST_ALLOWED_TARGET_CIDRS=127.0.0.1\/32:8787\.$/);
    expect(refusedTargetHint(refused, 'http://127.0.0.1:40123/', false)).toMatch(/HOOKPOST_ALLOWED_TARGET_CIDRS=127.0.0.1\/32:<port> and run listen with --listen-port <port>/);
    expect(refusedTargetHint(new ApiError(404, 'not_found', 'No application x.'), 'http://127.0.0.1:1/', true)).toBeUndefined();
  });

  it('prints a delivery as one line with the local answer and the signature check', () => {
    const delivery = { method: 'POST', path: '/hooks', headers: { 'webhook-id': 'msg_1' }, body: Buffer.from('{}'), status: 201, durationMs: 4 };
    const line = deliveryLine(delivery, 'verified', new Date(2025, 0, 1, 9, 8, 7, 6), painter(false));
    expect(line).toBe('09:08:07.006  POST /hooks  msg_1  → 201  4 ms  signature ok');
    expect(deliveryLine({ ...delivery, status: undefined, error: 'nothing listens on 127.0.0.1:3000 (connection refused)' }, 'bad', new Date(2025, 0, 1), painter(false))).toMatch(
      /✗ nothing listens on 127.0.0.1:3000 \(connection refused\).*signature does not verify/,
    );
  });
});
