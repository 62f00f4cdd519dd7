import { randomUUID } from 'node:crypto';
import { ajv } from '../src/validation';
import {
  applicationOutSchema,
  endpointOutSchema,
  HEADER_NAME_PATTERN,
  listResponseSchema,
  messageAttemptOutSchema,
  normalizeSvixSecret,
  svixErrorBody,
  svixStatusOf,
  toExternalId,
  validateAppPortalAccessIn,
  validateApplicationIn,
  validateApplicationPatch,
  validateEndpointHeadersIn,
  validateEndpointHeadersPatchIn,
  validateEndpointIn,
  validateEndpointPatch,
  validateEndpointSecretRotateIn,
  validateEndpointUpdate,
  validateEventExampleIn,
  validateEventTypeIn,
  validateEventTypePatch,
  validateEventTypeUpsertIn,
  validateMessageIn,
  validateRecoverIn,
  validateReplayIn,
  type ApplicationOut,
  type EndpointIn,
  type MessageAttemptOut,
} from '../src';

const secret24 = 'whsec_' + Buffer.alloc(24, 7).toString('base64');
const fieldsOf = (result: { ok: boolean; fields?: { field: string }[] }) => (result.fields ?? []).map((f) => f.field);

describe('Svix request bodies', () => {
  describe('EndpointIn', () => {
    it('takes what the svix 1.x client sends, and ignores fields it does not know', () => {
      const body: EndpointIn = {
        url: 'https://example.com/hook',
        description: 'billing',
        filterTypes: ['invoice.paid', 'invoice.failed'],
        channels: ['project_1', 'eu:west+1'],
        disabled: false,
        rateLimit: null,
        throttleRate: 10,
        uid: 'billing-endpoint.1',
        version: 1,
        metadata: { team: 'payments' },
        headers: { 'X-Api-Key': 'abc', Authorization: 'Bearer t' },
        secret: secret24,
      };
      expect(validateEndpointIn(body)).toEqual({ ok: true });
      expect(validateEndpointIn({ url: 'https://example.com', somethingNew: { nested: true } })).toEqual({ ok: true });
      expect(validateEndpointIn({ url: 'http://localhost:9000/x', secret: null, uid: null, filterTypes: null, channels: null, headers: null })).toEqual({
        ok: true,
      });
    });

    it.each<[string, Record<string, unknown>, string]>([
      ['no url', { url: undefined }, 'url'],
      ['a url that is not http(s)', { url: 'ftp://example.com' }, 'url'],
      ['a url that is not a URI', { url: 'not a url' }, 'url'],
      ['a url past 2048 characters', { url: `https://e.com/${'a'.repeat(2048)}` }, 'url'],
      ['an empty filterTypes', { filterTypes: [] }, 'filterTypes'],
      ['a repeated event type', { filterTypes: ['a', 'a'] }, 'filterTypes'],
      ['an event type outside the name pattern', { filterTypes: ['invoice paid'] }, 'filterTypes.0'],
      ['eleven channels', { channels: Array.from({ length: 11 }, (_, i) => `c${i}`) }, 'channels'],
      ['a channel with a slash', { channels: ['a/b'] }, 'channels.0'],
      ['a channel of 129 characters', { channels: ['c'.repeat(129)] }, 'channels.0'],
      ['a uid with a space', { uid: 'a b' }, 'uid'],
      ['an empty uid', { uid: '' }, 'uid'],
      ['a uid of 257 characters', { uid: 'u'.repeat(257) }, 'uid'],
      ['throttleRate 0 at creation', { throttleRate: 0 }, 'throttleRate'],
      ['rateLimit past 65535', { rateLimit: 65_536 }, 'rateLimit'],
      ['a fractional throttleRate', { throttleRate: 1.5 }, 'throttleRate'],
      ['a secret of 23 bytes', { secret: 'whsec_' + Buffer.alloc(23, 1).toString('base64') }, 'secret'],
      ['a secret of 65 bytes', { secret: 'whsec_' + Buffer.alloc(65, 1).toString('base64') }, 'secret'],
      ['a base64url secret', { secret: 'whsec_' + '-_'.repeat(16) }, 'secret'],
      ['an ed25519 signing key', { secret: 'whsk_' + Buffer.alloc(32, 1).toString('base64') }, 'secret'],
      ['a metadata value that is not a string', { metadata: { a: 1 } }, 'metadata.a'],
      ['a header value with CR LF', { headers: { 'X-A': 'a\r\nX-Injected: 1' } }, 'headers.X-A'],
      ['a header name with a colon', { headers: { 'X:A': 'a' } }, 'headers'],
      ['version 0', { version: 0 }, 'version'],
    ])('refuses %s', (_why, change, field) => {
      const result = validateEndpointIn(JSON.parse(JSON.stringify({ url: 'https://example.com/hook', ...change })));
      expect(result.ok).toBe(false);
      expect(fieldsOf(result)).toContain(field);
    });

    it.each(['Content-Type', 'content-length', 'HOST', 'Transfer-Encoding', 'webhook-signature', 'Webhook-Id', 'svix-id', 'Connection', 'te'])(
      'refuses the header %s, which Hookpost or HTTP framing owns',
      (name) => {
        expect(validateEndpointIn({ url: 'https://e.com', headers: { [name]: 'x' } }).ok).toBe(false);
        expect(new RegExp(HEADER_NAME_PATTERN, 'u').test(name)).toBe(false);
      },
    );

    it.each(['X-Api-Key', 'Authorization', 'tenant', 'x-webhook', 'Hosting', 'TE-Custom', 'content-types'])('takes the header %s', (name) => {
      expect(validateEndpointIn({ url: 'https://e.com', headers: { [name]: 'value\twith tab and Latin-1 é' } })).toEqual({ ok: true });
    });

    it('refuses more than 32 headers', () => {
      const headers = Object.fromEntries(Array.from({ length: 33 }, (_, i) => [`X-H${i}`, 'v']));
      expect(validateEndpointIn({ url: 'https://e.com', headers }).ok).toBe(false);
    });
  });

  it('EndpointUpdate (PUT) needs a url and carries no secret or headers to check', () => {
    expect(validateEndpointUpdate({ url: 'https://e.com', filterTypes: ['a'] })).toEqual({ ok: true });
    expect(fieldsOf(validateEndpointUpdate({ filterTypes: ['a'] }))).toContain('url');
  });

  it('EndpointPatch takes any subset, empty lists and throttleRate 0 (no throttle)', () => {
    expect(validateEndpointPatch({})).toEqual({ ok: true });
    expect(validateEndpointPatch({ filterTypes: [], channels: [], throttleRate: 0, secret: secret24 })).toEqual({ ok: true });
    expect(fieldsOf(validateEndpointPatch({ url: 'ftp://x' }))).toContain('url');
    expect(fieldsOf(validateEndpointPatch({ version: null }))).toContain('version');
  });

  it('Endpoint bodies take Hookpost\'s payloadFilter; a bad one is a 422 that names the failing place in Svix\'s shape', () => {
    // Given an endpoint whose filter's second condition has a bad path
    const result = validateEndpointIn({ url: 'https://e.com', payloadFilter: { and: [{ path: '$.a', eq: 1 }, { path: 'nope', eq: 2 }] } });
    // Then the error is at body → payloadFilter → and → [1] → path
    expect((svixErrorBody(422, 'Unprocessable', undefined, result.fields) as { detail: unknown[] }).detail).toContainEqual({
      loc: ['body', 'payloadFilter', 'and', '[1]', 'path'],
      msg: 'must be a JSON path: $ then .name, ["name"], [0] or one [*]',
      type: 'value_error',
    });
    expect(validateEndpointIn({ url: 'https://e.com', payloadFilter: null })).toEqual({ ok: true });
    expect(validateEndpointUpdate({ url: 'https://e.com', payloadFilter: { not: { path: '$.test', exists: true } } })).toEqual({ ok: true });
    expect(validateEndpointPatch({ payloadFilter: { path: '$.type', in: ['a', 'b'] } })).toEqual({ ok: true });
    expect(fieldsOf(validateEndpointPatch({ payloadFilter: { path: '$.type' } }))).toEqual(['payloadFilter']);
  });

  it('EndpointHeadersIn and EndpointHeadersPatchIn', () => {
    expect(validateEndpointHeadersIn({ headers: { 'X-A': '1' } })).toEqual({ ok: true });
    expect(fieldsOf(validateEndpointHeadersIn({}))).toContain('headers');
    expect(validateEndpointHeadersPatchIn({ headers: { 'X-A': '1', 'X-B': null }, deleteHeaders: ['X-C'] })).toEqual({ ok: true });
    expect(validateEndpointHeadersPatchIn({ headers: {}, deleteHeaders: ['Bad Name'] }).ok).toBe(false);
  });

  it('EndpointSecretRotateIn: an optional key and a grace period of 0 to 7 days', () => {
    expect(validateEndpointSecretRotateIn({})).toEqual({ ok: true });
    expect(validateEndpointSecretRotateIn({ key: null, gracePeriodSeconds: 0 })).toEqual({ ok: true });
    expect(validateEndpointSecretRotateIn({ key: Buffer.alloc(32, 3).toString('base64'), gracePeriodSeconds: 604_800 })).toEqual({ ok: true });
    expect(fieldsOf(validateEndpointSecretRotateIn({ gracePeriodSeconds: 604_801 }))).toContain('gracePeriodSeconds');
    expect(fieldsOf(validateEndpointSecretRotateIn({ key: 'short' }))).toContain('key');
  });

  it('ApplicationIn and ApplicationPatch', () => {
    expect(validateApplicationIn({ name: 'Acme', uid: 'acme', metadata: { plan: 'pro' }, throttleRate: null })).toEqual({ ok: true });
    expect(fieldsOf(validateApplicationIn({}))).toContain('name');
    expect(fieldsOf(validateApplicationIn({ name: '' }))).toContain('name');
    expect(fieldsOf(validateApplicationIn({ name: 'a\u0000b' }))).toContain('name');
    expect(validateApplicationPatch({ uid: null, throttleRate: 0 })).toEqual({ ok: true });
  });

  it('EventTypeIn: a name, a description, and payload schemas by version', () => {
    expect(validateEventTypeIn({ name: 'invoice.paid', description: 'An invoice was paid', schemas: { '1': { type: 'object' } } })).toEqual({ ok: true });
    expect(fieldsOf(validateEventTypeIn({ name: 'invoice.paid' }))).toContain('description');
    expect(fieldsOf(validateEventTypeIn({ name: 'invoice paid', description: '' }))).toContain('name');
    expect(validateEventTypeIn({ name: 'a', description: '', schemas: { v1: {} } }).ok).toBe(false);
    expect(validateEventTypeIn({ name: 'a', description: '', schemas: { '1': 'not a schema' } }).ok).toBe(false);
    expect(validateEventTypeUpsertIn({ description: 'x', archived: true })).toEqual({ ok: true });
    expect(fieldsOf(validateEventTypeUpsertIn({}))).toContain('description');
    expect(validateEventTypePatch({ schemas: null, featureFlags: ['beta'] })).toEqual({ ok: true });
  });

  describe('MessageIn', () => {
    it('takes what the client sends (dates as ISO strings)', () => {
      expect(
        validateMessageIn({
          eventType: 'invoice.paid',
          payload: { id: 'in_1', amount: 10 },
          eventId: 'evt_1',
          channels: ['project_1'],
          tags: ['a/b', 'c#d'],
          application: { name: 'Acme', uid: 'acme' },
          deliverAt: new Date('2026-01-01T00:00:00Z').toISOString(),
          payloadRetentionPeriod: 30,
        }),
      ).toEqual({ ok: true });
    });

    it.each<[string, Record<string, unknown>, string]>([
      ['no eventType', { eventType: undefined }, 'eventType'],
      ['a payload that is not an object', { payload: [1, 2] }, 'payload'],
      ['an eventId with a slash', { eventId: 'a/b' }, 'eventId'],
      ['an application without a name', { application: { uid: 'x' } }, 'application.name'],
      ['a retention of 91 days', { payloadRetentionPeriod: 91 }, 'payloadRetentionPeriod'],
      ['both retention fields', { payloadRetentionPeriod: 30, payloadRetentionHours: 5 }, 'payloadRetentionPeriod'],
      ['a deliverAt that is not a date-time', { deliverAt: 'tomorrow' }, 'deliverAt'],
    ])('refuses %s', (_why, change, field) => {
      const result = validateMessageIn(JSON.parse(JSON.stringify({ eventType: 'a', payload: {}, ...change })));
      expect(fieldsOf(result)).toContain(field);
    });

    it('takes payloadRetentionHours alone, and with a null period', () => {
      expect(validateMessageIn({ eventType: 'a', payload: {}, payloadRetentionHours: 5 })).toEqual({ ok: true });
      expect(validateMessageIn({ eventType: 'a', payload: {}, payloadRetentionHours: 5, payloadRetentionPeriod: null })).toEqual({ ok: true });
    });
  });

  it('RecoverIn, ReplayIn, AppPortalAccessIn and EventExampleIn', () => {
    expect(validateRecoverIn({ since: '2026-01-01T00:00:00Z', until: null })).toEqual({ ok: true });
    expect(fieldsOf(validateRecoverIn({}))).toContain('since');
    expect(fieldsOf(validateReplayIn({ since: 'yesterday' }))).toContain('since');
    expect(validateAppPortalAccessIn({})).toEqual({ ok: true });
    expect(validateAppPortalAccessIn({ capabilities: ['ViewBase', 'ManageEndpoint'], expiry: 3600, sessionId: 'abc@1' })).toEqual({ ok: true });
    expect(fieldsOf(validateAppPortalAccessIn({ expiry: 60 }))).toContain('expiry');
    expect(fieldsOf(validateAppPortalAccessIn({ capabilities: ['Everything'] }))).toContain('capabilities.0');
    expect(validateEventExampleIn({ eventType: 'invoice.paid', exampleIndex: 0 })).toEqual({ ok: true });
    expect(fieldsOf(validateEventExampleIn({ exampleIndex: -1 }))).toEqual(expect.arrayContaining(['eventType', 'exampleIndex']));
  });

  it('normalizeSvixSecret adds whsec_ to a bare base64 secret and refuses others', () => {
    const bare = Buffer.alloc(32, 9).toString('base64');
    expect(normalizeSvixSecret(bare)).toBe(`whsec_${bare}`);
    expect(normalizeSvixSecret(`whsec_${bare}`)).toBe(`whsec_${bare}`);
    expect(normalizeSvixSecret('testsecretkey')).toBeUndefined();
  });
});

describe('Svix response bodies', () => {
  const now = new Date().toISOString();
  const application: ApplicationOut = {
    id: toExternalId('app', randomUUID()),
    name: 'Acme',
    uid: null,
    metadata: {},
    throttleRate: null,
    rateLimit: null,
    createdAt: now,
    updatedAt: now,
  };

  it('an application and a page of applications match their schemas; an unknown field does not', () => {
    expect(ajv.validate(applicationOutSchema, application)).toBe(true);
    expect(ajv.validate(listResponseSchema(applicationOutSchema), { data: [application], iterator: application.id, prevIterator: null, done: true })).toBe(true);
    expect(ajv.validate(applicationOutSchema, { ...application, extra: 1 })).toBe(false);
    expect(ajv.validate(applicationOutSchema, { ...application, id: toExternalId('ep', randomUUID()) })).toBe(false);
  });

  it('an endpoint must show every field, nulls included', () => {
    const endpoint = {
      id: toExternalId('ep', randomUUID()),
      url: 'https://e.com',
      description: '',
      version: 1,
      disabled: false,
      filterTypes: null,
      channels: null,
      throttleRate: null,
      rateLimit: null,
      uid: null,
      metadata: {},
      payloadFilter: null,
      paused: false,
      ordered: false,
      createdAt: now,
      updatedAt: now,
    };
    expect(ajv.validate(endpointOutSchema, endpoint)).toBe(true);
    const { channels: _omitted, ...withoutChannels } = endpoint;
    expect(ajv.validate(endpointOutSchema, withoutChannels)).toBe(false);
    // (Hookpost's payload filter is shown too, null when there is none)
    expect(ajv.validate(endpointOutSchema, { ...endpoint, payloadFilter: { path: '$.a', eq: 1 } })).toBe(true);
    const { payloadFilter: _none, ...withoutFilter } = endpoint;
    expect(ajv.validate(endpointOutSchema, withoutFilter)).toBe(false);
  });

  it('an attempt, with and without its message', () => {
    const attempt: MessageAttemptOut = {
      id: toExternalId('atmpt', randomUUID()),
      msgId: toExternalId('msg', randomUUID()),
      endpointId: toExternalId('ep', randomUUID()),
      url: 'https://e.com',
      response: 'ok',
      responseStatusCode: 200,
      responseDurationMs: 12,
      ...svixStatusOf('succeeded', true),
      triggerType: 0,
      timestamp: now,
    };
    expect(ajv.validate(messageAttemptOutSchema, attempt)).toBe(true);
    expect(ajv.validate(messageAttemptOutSchema, { ...attempt, msg: null })).toBe(true);
    const msg = { id: attempt.msgId, eventType: 'a', eventId: null, payload: {}, channels: null, tags: null, timestamp: now };
    expect(ajv.validate(messageAttemptOutSchema, { ...attempt, msg })).toBe(true);
    expect(ajv.validate(messageAttemptOutSchema, { ...attempt, status: 5 })).toBe(false);
  });

  it.each([
    ['pending', false, 1, 'pending'],
    ['retrying', false, 1, 'pending'],
    ['retrying', true, 3, 'sending'],
    ['succeeded', false, 0, 'success'],
    ['failed', true, 2, 'fail'],
    ['cancelled', true, 4, 'canceled'],
  ] as const)('svixStatusOf(%s, expanded %s) is %i %s', (status, expanded, number, text) => {
    expect(svixStatusOf(status, expanded)).toEqual({ status: number, statusText: text });
  });
});
