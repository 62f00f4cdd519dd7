import {
  compilePayloadFilter,
  parsePayloadPath,
  PAYLOAD_FILTER_PATH_PATTERN,
  PAYLOAD_FILTER_READ_BUDGET,
  payloadFilterLimits,
  PayloadFilterError,
  PayloadFilters,
  validatePayloadFilter,
  type PayloadFilter,
} from '../src';

const matches = (filter: PayloadFilter, payload: unknown) => compilePayloadFilter(filter).matches(payload);
const whyNot = (filter: PayloadFilter, payload: unknown) => compilePayloadFilter(filter).whyNot(payload);
const fieldsOf = (result: { ok: boolean; fields?: { field: string }[] }) => (result.fields ?? []).map((problem) => problem.field);

const condition = (n: number): PayloadFilter => ({ path: `$.c${n}`, eq: n });

describe('the payload filter schema', () => {
  it.each<[string, unknown]>([
    ['no filter', null],
    ['a condition', { path: '$.data.amount', gte: 100 }],
    ['every operator', { and: [{ path: '$.a', eq: 'x' }, { path: '$.b', in: [1, 'one', true, null] }, { path: '$.c', lt: 1 }, { path: '$.d', lte: 'm' }, { path: '$.e', gt: -1.5 }, { path: '$.f', gte: '2026-01-01' }, { path: '$.g', exists: false }] }],
    ['the root', { path: '$', exists: true }],
    ['quoted names, indexes and one wildcard', { path: '$["a b"].items[0]["x.y"][*].sku', eq: 'A-1' }],
    ['and → or → not → condition', { and: [{ or: [{ not: { path: '$.a', eq: 1 } }, { path: '$.b', exists: true }] }] }],
    ['not → and → not → or → not → condition', { not: { and: [{ not: { or: [{ not: { path: '$.a', eq: 1 } }] } }] } }],
    ['16 filters outside, 8 inside: 128 conditions', { and: Array.from({ length: 16 }, (_, i) => ({ or: Array.from({ length: 8 }, (_, j) => condition(i * 8 + j)) })) }],
    ['32 values in a list, 256 characters in a string', { path: '$.a', in: [...Array.from({ length: 31 }, (_, i) => i), 'x'.repeat(256)] }],
  ])('takes %s', (_what, filter) => {
    expect(validatePayloadFilter(filter)).toEqual({ ok: true });
  });

  it.each<[string, unknown, string]>([
    ['an empty filter', {}, '(body)'],
    ['a path without an operator', { path: '$.a' }, '(body)'],
    ['an operator without a path', { eq: 1 }, '(body)'],
    ['two operators', { path: '$.a', gt: 1, lt: 5 }, '(body)'],
    ['and beside a condition', { and: [{ path: '$.a', eq: 1 }], path: '$.b' }, '(body)'],
    ['an unknown operator', { path: '$.a', ne: 1 }, 'ne'],
    ['an empty and', { and: [] }, 'and'],
    ['17 filters in the outermost or', { or: Array.from({ length: 17 }, (_, i) => condition(i)) }, 'or'],
    ['9 filters in an inner and', { or: [{ and: Array.from({ length: 9 }, (_, i) => condition(i)) }] }, 'or.0.and'],
    ['and/or three deep', { and: [{ or: [{ and: [condition(1)] }] }] }, 'and.0.or.0.and'],
    ['not of not', { not: { not: condition(1) } }, 'not.not'],
    ['not of not, inside', { or: [{ not: { not: condition(1) } }] }, 'or.0.not.not'],
    ['and/or three deep through not', { and: [{ not: { or: [{ and: [condition(1)] }] } }] }, 'and.0.not.or.0.and'],
    ['a path that does not start with $', { path: 'data.amount', eq: 1 }, 'path'],
    ['a path with two wildcards', { path: '$.a[*].b[*]', eq: 1 }, 'path'],
    ['a path with a negative index', { path: '$.a[-1]', eq: 1 }, 'path'],
    ['a path with a quote in a quoted name', { path: '$["a\\"b"]', eq: 1 }, 'path'],
    ['a path of 257 characters', { path: `$.${'a'.repeat(255)}`, exists: true }, 'path'],
    ['an object to compare with', { path: '$.a', eq: { b: 1 } }, 'eq'],
    ['a boolean to order by', { path: '$.a', lt: true }, 'lt'],
    ['33 values in a list', { path: '$.a', in: Array.from({ length: 33 }, (_, i) => i) }, 'in'],
    ['a string of 257 characters', { and: [condition(0), { path: '$.a', eq: 'x'.repeat(257) }] }, 'and.1.eq'],
    ['a list of no values', { path: '$.a', in: [] }, 'in'],
    ['exists with a value', { path: '$.a', exists: 1 }, 'exists'],
  ])('refuses %s, naming where', (_what, filter, field) => {
    const result = validatePayloadFilter(filter);
    expect(result.ok).toBe(false);
    expect(fieldsOf(result)).toContain(field);
  });

  it('has a path pattern the evaluator reads exactly: every path it matches parses, every other fails', () => {
    const pattern = new RegExp(PAYLOAD_FILTER_PATH_PATTERN, 'u');
    const parts = ['$', '.a', '.b_c-d', '[0]', '[12]', '[*]', '["x y"]', '[""]', '.', '[', ']', '"', '*', '[01]', '.1', '$', 'é', '\\', '["a\u0000"]'];
    let seed = 7;
    const random = () => ((seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31);
    for (let i = 0; i < 3_000; i += 1) {
      const path = Array.from({ length: 1 + Math.floor(random() * 6) }, () => parts[Math.floor(random() * parts.length)]).join('');
      let parsed = true;
      try {
        parsePayloadPath(path);
      } catch (error) {
        expect(error).toBeInstanceOf(PayloadFilterError);
        parsed = false;
      }
      expect({ path, parsed }).toEqual({ path, parsed: pattern.test(path) });
    }
  });
});

describe('evaluating a payload filter', () => {
  const invoice = {
    type: 'invoice.paid',
    data: { amount: 120, currency: 'EUR', paid_at: '2026-03-01T10:00:00Z', customer: { id: 'c_1', vip: true, note: null }, lines: [{ sku: 'A', qty: 2 }, { sku: 'B', qty: 1 }] },
    tags: ['eu', 'b2b'],
    'odd name': 'x',
  };

  it.each<[string, PayloadFilter, boolean]>([
    ['eq on a string', { path: '$.type', eq: 'invoice.paid' }, true],
    ['eq on a number', { path: '$.data.amount', eq: 120 }, true],
    ['eq on a boolean', { path: '$.data.customer.vip', eq: true }, true],
    ['eq on null', { path: '$.data.customer.note', eq: null }, true],
    ['eq does not convert a number to a string', { path: '$.data.amount', eq: '120' }, false],
    ['eq does not convert a boolean to a number', { path: '$.data.customer.vip', eq: 1 }, false],
    ['eq null is not a missing value', { path: '$.data.customer.missing', eq: null }, false],
    ['eq never equals an object or array', { path: '$.data.customer', eq: 'c_1' }, false],
    ['in', { path: '$.type', in: ['invoice.failed', 'invoice.paid'] }, true],
    ['in, another type', { path: '$.data.amount', in: ['120'] }, false],
    ['in, no value', { path: '$.type', in: ['a', 'b'] }, false],
    ['gte on numbers', { path: '$.data.amount', gte: 120 }, true],
    ['gt on numbers', { path: '$.data.amount', gt: 120 }, false],
    ['lt on numbers', { path: '$.data.amount', lt: 120.5 }, true],
    ['lte on numbers', { path: '$.data.amount', lte: 119 }, false],
    ['gte on strings (ISO times in order)', { path: '$.data.paid_at', gte: '2026-01-01T00:00:00Z' }, true],
    ['lt on strings', { path: '$.data.currency', lt: 'EUA' }, false],
    ['a number is not ordered against a string', { path: '$.data.amount', gt: '100' }, false],
    ['a string is not ordered against a number', { path: '$.data.currency', lt: 1000 }, false],
    ['exists', { path: '$.data.customer.id', exists: true }, true],
    ['exists counts null', { path: '$.data.customer.note', exists: true }, true],
    ['exists false on a missing path', { path: '$.data.refund', exists: false }, true],
    ['exists false on a present path', { path: '$.data', exists: false }, false],
    ['a quoted name', { path: '$["odd name"]', eq: 'x' }, true],
    ['an array element', { path: '$.data.lines[1].sku', eq: 'B' }, true],
    ['an element past the end', { path: '$.data.lines[2].sku', exists: true }, false],
    ['an index into an object', { path: '$.data.customer[0]', exists: true }, false],
    ['a name into an array', { path: '$.tags.length', exists: true }, false],
    ['a path through a scalar', { path: '$.type.length', exists: true }, false],
    ['any element: one matches', { path: '$.tags[*]', eq: 'b2b' }, true],
    ['any element: none matches', { path: '$.tags[*]', eq: 'us' }, false],
    ['any element, deeper', { path: '$.data.lines[*].qty', gte: 2 }, true],
    ['any member value of an object', { path: '$.data.customer[*]', eq: 'c_1' }, true],
    ['a wildcard over nothing', { path: '$.data.none[*]', exists: true }, false],
    ['a wildcard over an empty array', { path: '$.data.lines[5][*]', exists: false }, true],
    ['the root exists', { path: '$', exists: true }, true],
    ['and: all hold', { and: [{ path: '$.type', eq: 'invoice.paid' }, { path: '$.data.amount', gte: 100 }] }, true],
    ['and: one fails', { and: [{ path: '$.type', eq: 'invoice.paid' }, { path: '$.data.amount', gte: 1000 }] }, false],
    ['or: one holds', { or: [{ path: '$.type', eq: 'x' }, { path: '$.tags[*]', eq: 'eu' }] }, true],
    ['or: none holds', { or: [{ path: '$.type', eq: 'x' }, { path: '$.tags[*]', eq: 'us' }] }, false],
    ['not', { not: { path: '$.tags[*]', eq: 'us' } }, true],
    ['not of any element: no element is it', { not: { path: '$.tags[*]', eq: 'eu' } }, false],
    ['not of a missing path', { not: { path: '$.nope', eq: 1 } }, true],
    [
      'nested and/or/not',
      { and: [{ or: [{ path: '$.data.currency', eq: 'USD' }, { not: { path: '$.data.customer.vip', eq: false } }] }, { not: { and: [{ path: '$.data.amount', lt: 10 }] } }] },
      true,
    ],
  ])('%s', (_what, filter, expected) => {
    expect(validatePayloadFilter(filter)).toEqual({ ok: true });
    expect(matches(filter, invoice)).toBe(expected);
  });

  it('reads only the payload\'s own members: inherited names select nothing', () => {
    for (const name of ['constructor', 'toString', '__proto__', 'hasOwnProperty']) {
      expect(matches({ path: `$.${name}`, exists: true }, {})).toBe(false);
      expect(matches({ path: `$.a.${name}`, exists: true }, { a: [] })).toBe(false);
    }
    // (a member of that name that the payload has is read like any other: JSON.parse makes it an own member)
    expect(matches({ path: '$.__proto__.x', eq: 1 }, JSON.parse('{"__proto__": {"x": 1}}'))).toBe(true);
    expect(matches({ path: '$.constructor', eq: 'c' }, { constructor: 'c' })).toBe(true);
  });

  it('takes a payload of any shape without throwing', () => {
    const filter: PayloadFilter = { or: [{ path: '$.a[*].b', gte: 1 }, { path: '$.a[0]', in: [1] }, { path: '$["a"].c', exists: true }] };
    for (const payload of [null, 1, 'text', [], [1, 2], {}, { a: null }, { a: 'str' }, { a: [null, 1, 'x', { b: '2' }] }, { a: { x: { b: 0 } } }]) expect(() => matches(filter, payload)).not.toThrow();
    expect(matches(filter, { a: [null, { b: 0 }, { b: 1 }] })).toBe(true);
  });

  it('says why a payload does not match: which part failed, and the type found, never the values', () => {
    const secret = { card: '4242-4242', amount: 'lots', items: [1, 2, 3] };
    expect(whyNot({ path: '$.card', eq: 'x' }, secret)).toBe('$.card eq "x": false');
    expect(whyNot({ path: '$.amount', gte: 100 }, secret)).toBe('$.amount gte 100: the value is a string');
    expect(whyNot({ path: '$.items', eq: 1 }, secret)).toBe('$.items eq 1: the value is an array');
    expect(whyNot({ path: '$.missing', lt: 'm' }, secret)).toBe('$.missing lt "m": nothing at $.missing');
    expect(whyNot({ path: '$.items[*]', gt: 5 }, secret)).toBe('$.items[*] gt 5: false for each of 3 values');
    expect(whyNot({ path: '$.missing', exists: true }, secret)).toBe('$.missing does not exist');
    expect(whyNot({ path: '$.card', exists: false }, secret)).toBe('$.card exists');
    expect(whyNot({ and: [{ path: '$.card', exists: true }, { not: { path: '$.amount', eq: 'lots' } }] }, secret)).toBe('and[1]: not: $.amount eq "lots" holds');
    expect(whyNot({ or: [{ path: '$.a', eq: 1 }, { path: '$.b', eq: 2 }] }, secret)).toBe('none of or[0..1] holds (or[0]: $.a eq 1: nothing at $.a)');
    expect(whyNot({ not: { and: [{ path: '$.card', exists: true }] } }, secret)).toBe('not: its and holds');
    for (const detail of [whyNot({ path: '$.card', in: ['a'.repeat(256), 'b'] }, secret), whyNot({ and: Array.from({ length: 16 }, () => ({ path: `$.${'x'.repeat(200)}`, exists: true })) }, secret)]) {
      expect(detail.length).toBeLessThanOrEqual(payloadFilterLimits.detailLength);
      expect(detail).not.toContain('4242');
    }
  });

  it('refuses to compile what the schema refuses', () => {
    for (const filter of [null, {}, { path: '$.a' }, { path: 'a', eq: 1 }, { and: [{ or: [{ and: [condition(1)] }] }] }, 'text']) {
      expect(() => compilePayloadFilter(filter)).toThrow(PayloadFilterError);
    }
  });

  it('bounds what one evaluation reads: past 100,000 array elements or member values in all, the payload does not pass', () => {
    // Given alternatives of 8 conditions, each holding only for the array's last element, the eighth never:
    // every condition reads the whole array, and every alternative fails at its last condition
    const costly = (last: number) => ({ and: [...Array.from({ length: 7 }, () => ({ path: '$.items[*].n', eq: last })), { path: '$.items[*].n', eq: -1 }] });
    const items = (count: number) => ({ items: Array.from({ length: count }, (_, n) => ({ n })), flag: true });
    // and, after 15 of them, a cheap alternative that holds
    const thenFlag = (last: number): PayloadFilter => ({ or: [...Array.from({ length: 15 }, () => costly(last)), { path: '$.flag', eq: true }] });
    // When the payload's array has 833 elements (15 × 8 × 833 = 99,960 reads), the filter is evaluated in full
    expect(matches(thenFlag(832), items(833))).toBe(true);
    // When it has 834 (100,080 reads), evaluation stops at the budget: the payload does not pass, whatever comes after
    const started = performance.now();
    expect(matches(thenFlag(833), items(834))).toBe(false);
    expect(whyNot(thenFlag(833), items(834))).toBe(`the filter reads more than ${PAYLOAD_FILTER_READ_BUDGET} values of this payload`);
    // And a payload of a million elements costs no more than the budget
    expect(matches(thenFlag(1), items(1_000_000))).toBe(false);
    expect(performance.now() - started).toBeLessThan(1_000);
    // (a failure within the budget is explained as any other)
    const sixteen: PayloadFilter = { or: Array.from({ length: 16 }, () => costly(780)) };
    expect(whyNot(sixteen, items(781))).toBe('none of or[0..15] holds (or[0]: and[7]: $.items[*].n eq -1: false for each of 781 values)');
  });
});

describe('PayloadFilters: compiled once per endpoint version', () => {
  const endpoint = (version: number, filter: unknown) => ({ id: 'e1', version, payload_filter: filter });

  it('lets every payload through an endpoint without a filter', () => {
    const filters = new PayloadFilters();
    expect(filters.verdict({ id: 'e', version: 1 }, { a: 1 })).toEqual({ passes: true });
    expect(filters.verdict(endpoint(1, null), { a: 1 })).toEqual({ passes: true });
  });

  it('keeps the compiled filter of a version, and compiles a new version\'s', () => {
    const filters = new PayloadFilters();
    expect(filters.verdict(endpoint(1, { path: '$.a', eq: 1 }), { a: 1 })).toEqual({ passes: true });
    // (the same version is the same filter: what the object holds now is not read again)
    expect(filters.verdict(endpoint(1, { path: '$.a', eq: 2 }), { a: 1 })).toEqual({ passes: true });
    expect(filters.verdict(endpoint(2, { path: '$.a', eq: 2 }), { a: 1 })).toEqual({ passes: false, detail: '$.a eq 2: false' });
  });

  it('forgets the least recently used versions past its size', () => {
    const filters = new PayloadFilters(2);
    filters.verdict({ id: 'a', version: 1, payload_filter: { path: '$.x', eq: 1 } }, {});
    filters.verdict({ id: 'b', version: 1, payload_filter: { path: '$.x', eq: 1 } }, {});
    filters.verdict({ id: 'a', version: 1, payload_filter: { path: '$.x', eq: 1 } }, {});
    filters.verdict({ id: 'c', version: 1, payload_filter: { path: '$.x', eq: 1 } }, {});
    // a is still known (its first filter answers); b was the least recently used: compiled again from what it holds now
    expect(filters.verdict({ id: 'a', version: 1, payload_filter: { path: '$.x', exists: false } }, {}).passes).toBe(false);
    expect(filters.verdict({ id: 'b', version: 1, payload_filter: { path: '$.x', exists: false } }, {})).toEqual({ passes: true });
  });

  it('lets nothing through a filter it cannot compile, and says why', () => {
    const verdict = new PayloadFilters().verdict(endpoint(1, { path: 'nope', eq: 1 }), { a: 1 });
    expect(verdict.passes).toBe(false);
    expect(verdict).toMatchObject({ detail: expect.stringMatching(/^the filter cannot be used: not a payload filter: path: must be a JSON path/) });
  });
});
