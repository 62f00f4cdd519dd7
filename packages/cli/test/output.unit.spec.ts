import { colorEnabled, painter, printable, shortTime, table } from '../src/output';
import { errorBodyDetail, exitCodes, unreachable, ApiError } from '../src/errors';
import { durationMs, parseTime } from '../src/time';

describe('colour', () => {
  it.each([
    [{ noColorFlag: false, env: {}, isTTY: true }, true],
    [{ noColorFlag: false, env: {}, isTTY: false }, false],
    [{ noColorFlag: true, env: {}, isTTY: true }, false],
    [{ noColorFlag: false, env: { NO_COLOR: '1' }, isTTY: true }, false],
    // (no-color.org: an empty NO_COLOR does not count)
    [{ noColorFlag: false, env: { NO_COLOR: '' }, isTTY: true }, true],
    [{ noColorFlag: false, env: { TERM: 'dumb' }, isTTY: true }, false],
    [{ noColorFlag: false, env: { FORCE_COLOR: '1' }, isTTY: false }, true],
    [{ noColorFlag: false, env: { FORCE_COLOR: '0' }, isTTY: true }, true],
    [{ noColorFlag: false, env: { FORCE_COLOR: '1', NO_COLOR: '1' }, isTTY: true }, false],
  ])('%j → %s', (options, expected) => {
    expect(colorEnabled(options)).toBe(expected);
  });

  it('adds escape codes only when enabled', () => {
    expect(painter(false)('red', 'fail')).toBe('fail');
    expect(painter(true)('red', 'fail')).toBe('\u001b[31mfail\u001b[39m');
    expect(painter(true)(undefined, 'plain')).toBe('plain');
  });
});

describe('tables', () => {
  const rows = [
    { id: 'a', status: 'success' },
    { id: 'longer-id', status: 'fail' },
  ];
  const columns = [
    { header: 'ID', value: (row: (typeof rows)[number]) => row.id },
    { header: 'STATUS', value: (row: (typeof rows)[number]) => row.status, style: (row: (typeof rows)[number]) => (row.status === 'fail' ? ('red' as const) : undefined) },
  ];

  it('aligns columns under their headers', () => {
    expect(table(rows, columns, painter(false))).toBe(['ID         STATUS', 'a          success', 'longer-id  fail'].join('\n'));
  });

  it('measures widths before colouring, so coloured tables align the same', () => {
    const strip = (text: string) => text.replace(/\u001b\[\d+m/g, '');
    expect(strip(table(rows, columns, painter(true)))).toBe(table(rows, columns, painter(false)));
  });

  it('never sends control characters from the data to the terminal', () => {
    expect(printable('name\u001b[2Jx\nnext\u0007')).toBe('name\\u001b[2Jx\\nnext\\u0007');
  });

  it('shows times to the second', () => {
    expect(shortTime('2025-01-02T03:04:05.678Z')).toBe('2025-01-02 03:04:05Z');
    expect(shortTime(null)).toBe('');
  });
});

describe('times on the command line', () => {
  const now = new Date('2025-06-01T12:00:00.000Z');

  it('reads durations ago, RFC 3339 times and dates, in UTC', () => {
    expect(parseTime('now', now, '--since')).toBe('2025-06-01T12:00:00.000Z');
    expect(parseTime('90s', now, '--since')).toBe('2025-06-01T11:58:30.000Z');
    expect(parseTime('1h30m', now, '--since')).toBe('2025-06-01T10:30:00.000Z');
    expect(parseTime('2d', now, '--since')).toBe('2025-05-30T12:00:00.000Z');
    expect(parseTime('2025-05-31T08:00:00+02:00', now, '--since')).toBe('2025-05-31T06:00:00.000Z');
    expect(parseTime('2025-05-31 08:00', now, '--since')).toBe('2025-05-31T08:00:00.000Z');
    expect(parseTime('2025-05-31', now, '--since')).toBe('2025-05-31T00:00:00.000Z');
    expect(durationMs('1w')).toBe(604_800_000);
  });

  it('refuses anything else, naming the option', () => {
    for (const bad of ['yesterday', '5', '1y', '2025-13-45T00:00:00Z', '']) expect(() => parseTime(bad, now, '--until')).toThrow(/--until: not a time/);
  });
});

describe('errors as one line', () => {
  it("reads Svix's error bodies, validation lists and the seed API's problem+json", () => {
    expect(errorBodyDetail(404, { code: 'not_found', detail: 'No application app_x.' })).toEqual({ code: 'not_found', detail: 'No application app_x.' });
    expect(errorBodyDetail(422, { detail: [{ loc: ['body', 'url'], msg: 'is not a public address: 127.0.0.1 is loopback', type: 'value_error' }] })).toEqual({
      code: 'validation',
      detail: 'url: is not a public address: 127.0.0.1 is loopback',
    });
    expect(errorBodyDetail(422, { title: 'Unprocessable Content', detail: 'The body does not match the schema.', errors: [{ field: 'target_url', message: 'must use http' }] })).toEqual({
      detail: 'target_url: must use http',
    });
    expect(errorBodyDetail(502, '<html>\nBad gateway\n</html>')).toEqual({ detail: '<html> Bad gateway </html>' });
    expect(errorBodyDetail(500, '')).toEqual({ detail: 'Hookpost answered 500 without a reason' });
  });

  it('tells a refused key (exit 4) from other refusals (exit 1)', () => {
    expect(new ApiError(401, 'authentication_failed', 'Invalid token.').exitCode).toBe(exitCodes.unauthenticated);
    expect(new ApiError(401, 'authentication_failed', 'Invalid token.').message).toMatch(/API key was refused.*hookpost login/);
    expect(new ApiError(409, 'conflict', 'uid taken').exitCode).toBe(exitCodes.failed);
  });

  it('explains a refused connection and a timeout (exit 3)', () => {
    const refused = unreachable(Object.assign(new TypeError('fetch failed'), { cause: { code: 'ECONNREFUSED' } }), 'http://127.0.0.1:8000', 30_000);
    expect(refused.exitCode).toBe(exitCodes.unreachable);
    expect(refused.message).toMatch(/cannot connect to http:\/\/127.0.0.1:8000: connection refused. Is Hookpost running there/);
    const timedOut = unreachable(Object.assign(new Error('aborted'), { name: 'TimeoutError' }), 'http://h', 30_000);
    expect(timedOut.message).toBe('http://h did not answer within 30 s');
  });
});
