import { ajv } from '../src/validation';
import { httpErrorOutSchema, httpValidationErrorSchema, svixErrorBody, svixLocation, validateEndpointIn } from '../src';

describe('svixErrorBody', () => {
  it.each([
    [400, 'generic_error'],
    [401, 'authentication_failed'],
    [404, 'not_found'],
    [409, 'conflict'],
    [413, 'payload_too_large'],
    [429, 'rate_limited'],
    [500, 'server_error'],
    [503, 'service_unavailable'],
  ])('answers %i as {code: %s, detail}', (status, code) => {
    const body = svixErrorBody(status, 'Title', 'What happened.');
    expect(body).toEqual({ code, detail: 'What happened.' });
    expect(ajv.validate(httpErrorOutSchema, body)).toBe(true);
  });

  it('uses the title when there is no detail, and a code the caller names', () => {
    expect(svixErrorBody(404, 'Not Found')).toEqual({ code: 'not_found', detail: 'Not Found' });
    expect(svixErrorBody(409, 'Conflict', 'uid taken', undefined, 'uid_conflict')).toEqual({ code: 'uid_conflict', detail: 'uid taken' });
  });

  it('lists the fields of a 422 as Svix locations', () => {
    const body = svixErrorBody(422, 'Unprocessable Content', 'The body does not match the schema.', [
      { field: 'url', message: 'must match format "uri"' },
      { field: 'channels.0', message: 'must match pattern' },
      { field: 'query.limit', message: 'must be <= 250' },
    ]);
    expect(body).toEqual({
      detail: [
        { loc: ['body', 'url'], msg: 'must match format "uri"', type: 'value_error' },
        { loc: ['body', 'channels', '[0]'], msg: 'must match pattern', type: 'value_error' },
        { loc: ['query', 'limit'], msg: 'must be <= 250', type: 'value_error' },
      ],
    });
    expect(ajv.validate(httpValidationErrorSchema, body)).toBe(true);
  });

  it('gives a 422 without named fields one item about the body', () => {
    expect(svixErrorBody(422, 'Unprocessable Content', 'Payload does not match.')).toEqual({
      detail: [{ loc: ['body'], msg: 'Payload does not match.', type: 'value_error' }],
    });
  });

  it('carries ajv field errors straight through', () => {
    const result = validateEndpointIn({ url: 'ftp://x', metadata: { a: 1 } });
    const body = svixErrorBody(422, 'Unprocessable Content', undefined, result.fields);
    expect('detail' in body && Array.isArray(body.detail) && body.detail.map((item) => item.loc)).toEqual(
      expect.arrayContaining([['body', 'url'], ['body', 'metadata', 'a']]),
    );
  });
});

describe('svixLocation', () => {
  it.each<[string, string[]]>([
    ['(body)', ['body']],
    ['', ['body']],
    ['url', ['body', 'url']],
    ['body.url', ['body', 'url']],
    ['/url', ['body', 'url']],
    ['/headers/X-A~1B', ['body', 'headers', 'X-A/B']],
    ['/payload/items/3/id', ['body', 'payload', 'items', '[3]', 'id']],
    ['/query', ['body', 'query']],
    ['path.app_id', ['path', 'app_id']],
    ['header.idempotency-key', ['header', 'idempotency-key']],
  ])('%s reads as %j', (field, loc) => {
    expect(svixLocation(field)).toEqual(loc);
  });
});
