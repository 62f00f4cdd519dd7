import { evolveSubscription, ifMatchHolds, knownFromRecord, makeEvent, type SubscriptionRecord, type SubscriptionState } from '../src';

let n = 0;
const deps = { now: () => new Date(Date.UTC(2026, 0, 1, 0, 0, n)), newId: () => `00000000-0000-4000-8000-${String(++n).padStart(12, '0')}` };
const id = '11111111-1111-4111-8111-111111111111';
const state: SubscriptionState = {
  id,
  version: 1,
  name: 'a',
  description: null,
  target_url: 'https://example.com/hook',
  is_active: true,
  event_types: null,
  secret: 'sealed:v1:k:x',
  max_attempts: null,
  timeout_ms: null,
  created_at: '2026-01-01T00:00:00.000Z',
  updated_at: '2026-01-01T00:00:00.000Z',
};
const created = () => makeEvent('SubscriptionCreated', state, deps);
const changed = (version: number, changes: Record<string, unknown>, cause: 'patched' | 'endpoint_gone' = 'patched') =>
  makeEvent('SubscriptionChanged', { id, version, changes, cause, detail: null, changed_at: '2026-01-03T00:00:00.000Z' }, deps);
const deleted = (version: number) => makeEvent('SubscriptionDeleted', { id, version, deleted_at: '2026-01-04T00:00:00.000Z' }, deps);

function fold(events: Parameters<typeof evolveSubscription>[1][], from?: SubscriptionRecord) {
  return events.reduce<SubscriptionRecord | undefined>((record, event) => evolveSubscription(record, event), from);
}

describe('a subscription folded from its events', () => {
  it('applies changes in log order, counting one version per change and keeping the fields not named', () => {
    const record = fold([created(), changed(2, { name: 'b' }), changed(3, { is_active: false }, 'endpoint_gone')]);
    expect(record).toEqual({
      state: { ...state, version: 3, name: 'b', is_active: false, updated_at: '2026-01-03T00:00:00.000Z' },
      deleted_at: null,
    });
  });

  it('keeps both of two changes that were decided on the same version', () => {
    const record = fold([created(), changed(2, { name: 'b' }), changed(2, { description: 'd' })]);
    expect(record!.state).toMatchObject({ version: 3, name: 'b', description: 'd' });
  });

  it('ends for good at a deletion: later changes and a second creation change nothing', () => {
    const gone = fold([created(), deleted(2)]);
    expect(gone).toMatchObject({ state: { version: 2 }, deleted_at: '2026-01-04T00:00:00.000Z' });
    expect(fold([changed(3, { name: 'z' }), created()], gone)).toBe(gone);
    expect(knownFromRecord(gone!)).toEqual({ id, version: 2, deleted: true });
  });

  it('reads whole states written before changes existed: the higher version wins', () => {
    const legacy = (version: number, name: string) => makeEvent('SubscriptionUpdated', { ...state, version, name }, deps);
    expect(fold([created(), legacy(3, 'c'), legacy(2, 'b')])!.state).toMatchObject({ version: 3, name: 'c' });
  });

  it('ignores a change to a subscription it never saw', () => {
    expect(fold([changed(2, { name: 'b' })])).toBeUndefined();
  });
});

describe('If-Match', () => {
  it('holds without a header, for *, and for a list naming the current version; never for a weak tag', () => {
    expect(ifMatchHolds(undefined, 3)).toBe(true);
    expect(ifMatchHolds('*', 3)).toBe(true);
    expect(ifMatchHolds('"3"', 3)).toBe(true);
    expect(ifMatchHolds('"1", "3"', 3)).toBe(true);
    expect(ifMatchHolds('"2"', 3)).toBe(false);
    expect(ifMatchHolds('W/"3"', 3)).toBe(false);
    expect(ifMatchHolds('3', 3)).toBe(false);
  });
});
