import { checkPayload, currentPayloadSchema, payloadErrorFields, payloadSchemaLimits, payloadSchemasProblems, regexProblem, schemaProblem, svixErrorBody } from '../src';

const invoicePaid = {
  type: 'object',
  required: ['id', 'amount'],
  properties: {
    id: { type: 'string', pattern: '^in_[A-Za-z0-9]+$' },
    amount: { type: 'integer', minimum: 0 },
    lines: { type: 'array', items: { type: 'object', required: ['sku'], properties: { sku: { type: 'string' } } } },
    email: { type: 'string', format: 'email' },
  },
  additionalProperties: false,
};

describe('payload schemas of event types', () => {
  describe('checkPayload', () => {
    it('accepts a payload that matches', () => {
      expect(checkPayload(invoicePaid, { id: 'in_1', amount: 5, lines: [{ sku: 'a' }], email: 'a@b.co' })).toEqual({ ok: true });
    });

    it('lists every failing place as a JSON Pointer, missing and unknown properties by their own path', () => {
      const result = checkPayload(invoicePaid, { id: 'bad id', amount: -1, lines: [{ sku: 'a' }, {}], extra: true, email: 'nope' });
      expect(result.ok).toBe(false);
      const paths = result.ok ? [] : result.errors.map((error) => error.path);
      expect(paths).toEqual(expect.arrayContaining(['/id', '/amount', '/lines/1/sku', '/extra', '/email']));
    });

    it('names the payload itself with the empty pointer', () => {
      expect(checkPayload({ type: 'object' }, [])).toEqual({ ok: false, errors: [{ path: '', message: 'must be object' }] });
    });

    it('reports at most reportedErrors errors', () => {
      const schema = { type: 'object', additionalProperties: { type: 'integer' } };
      const payload = Object.fromEntries(Array.from({ length: 100 }, (_, i) => [`k${i}`, 'x']));
      const result = checkPayload(schema, payload);
      expect(result.ok === false && result.errors.length).toBe(payloadSchemaLimits.reportedErrors);
    });

    it('gives the 422 body Svix clients read', () => {
      const result = checkPayload(invoicePaid, { id: 'in_1' });
      expect(result.ok).toBe(false);
      const body = svixErrorBody(422, 'Unprocessable Content', undefined, result.ok ? [] : payloadErrorFields(result.errors));
      expect(body).toEqual({ detail: [{ loc: ['body', 'payload', 'amount'], msg: "must have required property 'amount'", type: 'value_error' }] });
    });

    it('refuses a string past patternTextLength against any pattern, so no pattern runs on unbounded text', () => {
      const schema = { type: 'string', pattern: '^a*$' };
      expect(checkPayload(schema, 'a'.repeat(payloadSchemaLimits.patternTextLength))).toEqual({ ok: true });
      expect(checkPayload(schema, 'a'.repeat(payloadSchemaLimits.patternTextLength + 1)).ok).toBe(false);
    });

    it('keeps schemas with the same $id apart (nothing is registered by id)', () => {
      expect(checkPayload({ $id: 'https://example.com/s', type: 'string' }, 'x')).toEqual({ ok: true });
      expect(checkPayload({ $id: 'https://example.com/s', type: 'integer' }, 1)).toEqual({ ok: true });
      expect(checkPayload({ $id: 'https://example.com/s', type: 'integer' }, 'x').ok).toBe(false);
    });

    it('follows references within the schema', () => {
      const schema = { definitions: { cents: { type: 'integer' } }, type: 'object', properties: { amount: { $ref: '#/definitions/cents' } } };
      expect(checkPayload(schema, { amount: 1 })).toEqual({ ok: true });
      expect(checkPayload(schema, { amount: 1.5 }).ok).toBe(false);
    });

    it('throws for a schema that schemaProblem refuses (it cannot have been stored)', () => {
      expect(() => checkPayload({ type: 'nonsense' }, {})).toThrow(/does not compile/);
    });

    it('ignores keywords and formats it does not know', () => {
      expect(checkPayload({ type: 'string', format: 'x-custom', 'x-note': 1, examples: ['a'] }, 'a')).toEqual({ ok: true });
    });
  });

  describe('schemaProblem refuses at creation', () => {
    it.each<[string, unknown, RegExp]>([
      ['a schema ajv cannot compile', { type: 'nonsense' }, /compile/],
      ['a schema that is not an object', 'string', /JSON Schema object/],
      ['an array', [], /JSON Schema object/],
      ['a remote $ref', { $ref: 'https://example.com/schema.json' }, /\$ref/],
      ['a nested remote $ref', { properties: { a: { $ref: 'other.json#/x' } } }, /\/properties\/a\/\$ref/],
      ['a reference to nothing', { $ref: '#/definitions/missing' }, /compile/],
      ['$async', { $async: true, type: 'object' }, /\$async/],
      ['$data', { properties: { a: { maximum: { $data: '1/b' } } } }, /\/properties\/a\/maximum\/\$data/],
      ['another draft', { $schema: 'https://json-schema.org/draft/2020-12/schema', type: 'object' }, /compile/],
      ['an invalid pattern', { pattern: '(' }, /valid regular expression/],
      ['a nested repetition', { properties: { a: { pattern: '^(a+)+$' } } }, /\/properties\/a\/pattern/],
      ['a catastrophic patternProperties key', { patternProperties: { '^(x|xx)*$': {} } }, /patternProperties/],
      ['uniqueItems over objects', { type: 'array', uniqueItems: true, items: { type: 'object' } }, /uniqueItems/],
      ['uniqueItems without items', { type: 'array', uniqueItems: true }, /uniqueItems/],
      ['a schema past schemaBytes', { description: 'x'.repeat(payloadSchemaLimits.schemaBytes) }, /bytes/],
    ])('%s', (_why, schema, message) => {
      expect(schemaProblem(schema)).toMatch(message);
    });

    it('takes data-valued keywords as data ($ref, $data or patterns in enum, const, examples, default)', () => {
      expect(schemaProblem({ enum: [{ $ref: 'https://x' }], const: { $data: '1/b' }, default: { pattern: '(a+)+' }, examples: [{ $async: true }] })).toBeUndefined();
    });

    it('takes uniqueItems over scalar items, and an ordinary schema', () => {
      expect(schemaProblem({ type: 'array', uniqueItems: true, items: { type: ['string', 'integer'] } })).toBeUndefined();
      expect(schemaProblem(invoicePaid)).toBeUndefined();
    });

    it('payloadSchemasProblems names the version', () => {
      expect(payloadSchemasProblems({ '1': invoicePaid, '2': { type: 'nonsense' } })).toEqual([{ field: '/schemas/2', message: expect.stringMatching(/compile/) }]);
      expect(payloadSchemasProblems(null)).toEqual([]);
    });
  });

  describe('regexProblem', () => {
    it.each([
      '^(a+)+$',
      '^(a*)*$',
      '(a|aa)+',
      '^(\\w+\\s?)*$',
      '((ab)*c)+',
      '(a+){2,}',
      '(a+){10}',
      '(?:x|y)*z',
      '(?<word>a+)+',
      '(a)\\1',
      '(?<q>a)\\k<q>',
      '^[a-z]+(-[a-z]+)*$',
    ])('refuses %s', (pattern) => {
      expect(regexProblem(pattern)).toBeDefined();
    });

    it.each([
      '^in_[A-Za-z0-9]+$',
      '^\\d{4}-\\d{2}-\\d{2}$',
      '^(\\d{1,3}\\.){3}\\d{1,3}$',
      '^(\\+|-)?\\d+$',
      '^(https?://)?[a-z.]+$',
      '^[(a+)+]*$',
      '^\\(a+\\)+$',
      '^\\p{L}{2,}$',
      '^[a-z][a-z-]*$',
      'a{2}b{3,}c*',
    ])('takes %s', (pattern) => {
      expect(regexProblem(pattern)).toBeUndefined();
    });
  });

  it('currentPayloadSchema is the highest version', () => {
    expect(currentPayloadSchema({ '1': { a: 1 }, '10': { a: 10 }, '2': { a: 2 } })).toEqual({ a: 10 });
    expect(currentPayloadSchema({})).toBeUndefined();
    expect(currentPayloadSchema(null)).toBeUndefined();
  });
});
