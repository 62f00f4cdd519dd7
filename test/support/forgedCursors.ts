/**
 * Cursors nobody was given: every one must be a 400, never handed to PostgreSQL. Those in the form cursors had
 * before (base64url of JSON), and near misses of today's `<created_at in ms>.<id>`. Used by the projector's unit
 * test and the bad-input corpus.
 */
export const cursorId = '0b8a3a3e-5d7c-4c51-9a55-1c2f4f0e6d7a';
const forge = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url');

export const forgedCursors: Record<string, string> = {
  'a number of milliseconds as a string ("1": Date.parse takes it)': forge(['1', cursorId]),
  'a bare year': forge(['2020', cursorId]),
  'a date without time': forge(['2020-01-01', cursorId]),
  'a local time without zone': forge(['2020-01-01T00:00:00.000', cursorId]),
  'another zone': forge(['2020-01-01T00:00:00.000+01:00', cursorId]),
  'no milliseconds': forge(['2020-01-01T00:00:00Z', cursorId]),
  'microseconds': forge(['2020-01-01T00:00:00.000000Z', cursorId]),
  'a day that does not exist': forge(['2021-02-29T00:00:00.000Z', cursorId]),
  'hour 24': forge(['2020-01-01T24:00:00.000Z', cursorId]),
  'year 0000 (none in PostgreSQL)': forge(['0000-01-01T00:00:00.000Z', cursorId]),
  'an expanded year': forge(['+275760-09-13T00:00:00.000Z', cursorId]),
  'a JavaScript date string': forge(['Wed Jan 01 2020', cursorId]),
  'infinity': forge(['infinity', cursorId]),
  'epoch, PostgreSQL spelling': forge(['epoch', cursorId]),
  'a number': forge([1, cursorId]),
  'not a uuid': forge(['2020-01-01T00:00:00.000Z', 'x']),
  'a third element': forge(['2020-01-01T00:00:00.000Z', cursorId, 1]),
  'an object': forge({ created_at: '2020-01-01T00:00:00.000Z', id: cursorId }),
  'padding': `${forge(['2020-01-01T00:00:00.000Z', cursorId])}=`,
  'standard base64': Buffer.from(JSON.stringify(['2020-01-01T00:00:00.000Z', cursorId])).toString('base64'),
  'spaced JSON': Buffer.from(`[ "2020-01-01T00:00:00.000Z" , "${cursorId}" ]`).toString('base64url'),
  'too long': 'A'.repeat(5_000),
  'milliseconds past the form (14 digits)': `99999999999999.${cursorId}`,
  'negative milliseconds': `-1.${cursorId}`,
  'fractional milliseconds': `1.5.${cursorId}`,
  'an upper-case id': `1700000000000.${cursorId.toUpperCase()}`,
  'no id': '1700000000000.',
  'spaces': ` 1700000000000.${cursorId}`,
  empty: '',
};
