import { randomUUID } from 'node:crypto';
import { keysetOf, listResponse, parseSvixQuery, toExternalId, type ListIterator, type ParsedSvixQuery } from '../src';

function ok<T>(result: { ok: true; query: T } | { ok: false; errors: unknown }): T {
  if (!result.ok) throw new Error(`expected ok, got ${JSON.stringify(result.errors)}`);
  return result.query;
}
const fieldsOf = (result: { ok: boolean; errors?: { field: string }[] }) => (result.ok ? [] : (result.errors ?? []).map((error) => error.field));

describe('parseSvixQuery', () => {
  it('fills in defaults: limit 50, the flags Svix defaults', () => {
    const query: ParsedSvixQuery<'v1.message.list'> = ok(parseSvixQuery('v1.message.list', {}));
    expect(query).toEqual({ limit: 50, with_content: true });
    expect(ok(parseSvixQuery('v1.application.list', {}))).toEqual({
      limit: 50,
      exclude_apps_with_no_endpoints: false,
      exclude_apps_with_disabled_endpoints: false,
      exclude_apps_with_svix_play_endpoints: false,
    });
  });

  it('reads what the svix client sends: numbers, booleans, dates, comma-joined arrays', () => {
    const query = ok(
      parseSvixQuery('v1.message-attempt.list-by-endpoint', {
        limit: '250',
        status: '3',
        status_code_class: '500',
        channel: 'project_1',
        tag: 'a/b#c',
        before: '2026-01-01T00:00:00.000Z',
        with_content: 'false',
        expanded_statuses: 'true',
        event_types: 'invoice.paid,invoice.failed',
      }),
    );
    expect(query).toEqual({
      limit: 250,
      status: 3,
      status_code_class: 500,
      channel: 'project_1',
      tag: 'a/b#c',
      before: '2026-01-01T00:00:00.000Z',
      with_content: false,
      with_msg: false,
      expanded_statuses: true,
      event_types: ['invoice.paid', 'invoice.failed'],
    });
  });

  it('reads a repeated array parameter too', () => {
    expect(ok(parseSvixQuery('v1.message.list', { event_types: ['a', 'b,c'] })).event_types).toEqual(['a', 'b', 'c']);
  });

  it('ignores parameters the operation does not take, as Svix does', () => {
    expect(ok(parseSvixQuery('v1.endpoint.list', { something_new: '1', with_content: 'nonsense' }))).toEqual({ limit: 50 });
  });

  it.each<[string, Record<string, unknown>, string]>([
    ['limit 0', { limit: '0' }, 'query.limit'],
    ['limit 251', { limit: '251' }, 'query.limit'],
    ['limit 1.5', { limit: '1.5' }, 'query.limit'],
    ['an empty limit', { limit: '' }, 'query.limit'],
    ['a huge limit', { limit: '99999999999999999999' }, 'query.limit'],
    ['limit given twice', { limit: ['1', '2'] }, 'query.limit'],
    ['order sideways', { order: 'sideways' }, 'query.order'],
    ['a flag that is not true or false', { exclude_apps_with_no_endpoints: '1' }, 'query.exclude_apps_with_no_endpoints'],
    ['an iterator of another kind', { iterator: toExternalId('ep', randomUUID()) }, 'query.iterator'],
    ['an iterator that is a UUID', { iterator: randomUUID() }, 'query.iterator'],
  ])('refuses %s', (_why, raw, field) => {
    expect(fieldsOf(parseSvixQuery('v1.application.list', raw))).toContain(field);
  });

  it.each<[string, Record<string, unknown>, string]>([
    ['a status outside 0..4', { status: '5' }, 'query.status'],
    ['a status code class of 250', { status_code_class: '250' }, 'query.status_code_class'],
    ['a date that is not RFC 3339', { before: '2026-01-01' }, 'query.before'],
    ['an event type with a space', { event_types: 'a,b c' }, 'query.event_types.1'],
    ['an empty event type', { event_types: 'a,' }, 'query.event_types.1'],
    ['a repeated event type', { event_types: 'a,a' }, 'query.event_types'],
    ['a channel with a slash', { channel: 'a/b' }, 'query.channel'],
  ])('refuses %s', (_why, raw, field) => {
    expect(fieldsOf(parseSvixQuery('v1.message-attempt.list-by-msg', raw))).toContain(field);
  });

  it('decodes an iterator and a prevIterator to the UUID they name', () => {
    const id = randomUUID();
    const text = toExternalId('msg', id);
    expect(ok(parseSvixQuery('v1.message.list', { iterator: text })).iterator).toEqual({ direction: 'after', key: id, text });
    expect(ok(parseSvixQuery('v1.message.list', { iterator: `-${text}` })).iterator).toEqual({ direction: 'before', key: id, text: `-${text}` });
  });

  it('takes any iterator of the right shape as a position, even one this API never returned', () => {
    const forged = `app_${'A'.repeat(27)}`;
    expect(ok(parseSvixQuery('v1.application.list', { iterator: forged })).iterator).toEqual({
      direction: 'after',
      key: expect.stringMatching(/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/),
      text: forged,
    });
    expect(ok(parseSvixQuery('v1.application.list', { iterator: `-app_${'z'.repeat(27)}` })).iterator?.direction).toBe('before');
  });

  it('takes an event type name as the event-type list iterator', () => {
    expect(ok(parseSvixQuery('v1.event-type.list', { iterator: 'invoice.paid' })).iterator).toEqual({ direction: 'after', key: 'invoice.paid', text: 'invoice.paid' });
  });
});

describe('pages', () => {
  // A table of 7 rows whose keys sort as their numbers; the list shows them newest (highest) first.
  const rows = [1, 2, 3, 4, 5, 6, 7].map((n) => ({ id: `k${n}` }));
  const iteratorOf = (row: { id: string }) => row.id;
  const iteratorAt = (text: string): ListIterator => ({ direction: text.startsWith('-') ? 'before' : 'after', key: text.replace(/^-/, ''), text });

  /** What a keyset query over the table returns. */
  function fetch(keyset: { walk: 'asc' | 'desc'; from?: string; take: number }) {
    const sorted = keyset.walk === 'asc' ? rows : [...rows].reverse();
    const past = keyset.from === undefined ? sorted : sorted.filter((row) => (keyset.walk === 'asc' ? row.id > keyset.from! : row.id < keyset.from!));
    return past.slice(0, keyset.take);
  }
  function page(order: 'ascending' | 'descending', limit: number, iterator?: string) {
    const it = iterator === undefined ? undefined : iteratorAt(iterator);
    return listResponse(fetch(keysetOf(order, limit, it)), { limit, iterator: it, iteratorOf });
  }

  it('walks forward to the end, then back with prevIterator, seeing every row once and in order', () => {
    const first = page('descending', 3);
    expect(first).toEqual({ data: [{ id: 'k7' }, { id: 'k6' }, { id: 'k5' }], iterator: 'k5', prevIterator: '-k7', done: false });
    const second = page('descending', 3, first.iterator!);
    expect(second.data.map(iteratorOf)).toEqual(['k4', 'k3', 'k2']);
    const third = page('descending', 3, second.iterator!);
    expect(third).toEqual({ data: [{ id: 'k1' }], iterator: 'k1', prevIterator: '-k1', done: true });
    const back = page('descending', 3, third.prevIterator!);
    expect(back.data.map(iteratorOf)).toEqual(['k4', 'k3', 'k2']);
    expect(page('descending', 3, back.prevIterator!).data.map(iteratorOf)).toEqual(['k7', 'k6', 'k5']);
  });

  it('walks ascending lists the other way', () => {
    expect(page('ascending', 4).data.map(iteratorOf)).toEqual(['k1', 'k2', 'k3', 'k4']);
    expect(page('ascending', 4, 'k4')).toMatchObject({ data: [{ id: 'k5' }, { id: 'k6' }, { id: 'k7' }], done: true });
    expect(page('ascending', 2, '-k5').data.map(iteratorOf)).toEqual(['k3', 'k4']);
  });

  it('says done when exactly limit rows remain', () => {
    expect(page('descending', 7)).toMatchObject({ done: true });
    expect(page('descending', 6)).toMatchObject({ done: false });
  });

  it('keeps the position on an empty page, so a poller can ask again', () => {
    expect(page('descending', 3, 'k1')).toEqual({ data: [], iterator: 'k1', prevIterator: null, done: true });
    expect(page('ascending', 3, '-k1')).toEqual({ data: [], iterator: 'k1', prevIterator: null, done: true });
    expect(listResponse([], { limit: 3, iteratorOf })).toEqual({ data: [], iterator: null, prevIterator: null, done: true });
  });

  it('offers no prevIterator where paging back is not offered (event types)', () => {
    expect(listResponse(rows.slice(0, 2), { limit: 5, iteratorOf, prev: false }).prevIterator).toBeNull();
  });
});

describe('the parsed query types', () => {
  it('types defaulted parameters as present and the rest as optional', () => {
    const query = ok(parseSvixQuery('v1.message-attempt.list-by-endpoint', {}));
    const limit: number = query.limit;
    const withMsg: boolean = query.with_msg;
    const status: 0 | 1 | 2 | 3 | 4 | undefined = query.status;
    const eventTypes: string[] | undefined = query.event_types;
    const iterator: ListIterator | undefined = query.iterator;
    expect([limit, withMsg, status, eventTypes, iterator]).toEqual([50, false, undefined, undefined, undefined]);
  });
});
