import { assertValidEvent, InvalidEventError, makeEvent } from '../src';

const deps = { now: () => new Date('2026-11-30T00:00:00Z'), newId: () => '0190a5f0-0000-7000-8000-000000000001' };
const deleted = makeEvent('SubscriptionDeleted', { id: '0190a5f0-0000-7000-8000-000000000002', version: 2, deleted_at: '2026-11-30T00:00:00.000Z' }, deps);

function failure(candidate: unknown): InvalidEventError {
  try {
    assertValidEvent(candidate);
  } catch (error) {
    if (error instanceof InvalidEventError) return error;
    throw error;
  }
  throw new Error('the event was valid');
}

describe('events a newer release wrote', () => {
  it('reads a valid event as valid', () => {
    expect(() => assertValidEvent(deleted)).not.toThrow();
  });

  it.each([
    ['a type this release does not know', { ...deleted, type: 'SubscriptionArchived' }],
    ['a newer schema_version', { ...deleted, schema_version: 2 }],
    ['fields this release does not know, and nothing else wrong', { ...deleted, data: { ...deleted.data, archived_by: 'someone' } }],
  ])('are told apart by %s', (_why, event) => {
    expect(failure(event).fromNewerRelease).toBe(true);
  });

  it.each([
    ['not an object', 'SubscriptionDeleted'],
    ['a malformed envelope', { ...deleted, id: 42 }],
    ['an unknown type in an envelope malformed otherwise', { ...deleted, type: 'SubscriptionArchived', id: 'not-a-uuid' }],
    ['a known field of the wrong type', { ...deleted, data: { ...deleted.data, version: 'two' } }],
    ['a required field missing', { ...deleted, data: { id: deleted.data.id, deleted_at: deleted.data.deleted_at } }],
    ['an unknown field beside a wrong one', { ...deleted, data: { ...deleted.data, version: 'two', archived_by: 'someone' } }],
  ])('from garbage: %s is not from a newer release', (_why, event) => {
    expect(failure(event).fromNewerRelease).toBe(false);
  });
});
