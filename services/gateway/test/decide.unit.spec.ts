import { createCipheriv, randomBytes } from 'node:crypto';
import type { SubscriptionState } from '@hookpost/contracts';
import { SecretBox, sealedFor } from '@hookpost/platform';
import { generateSecret, generateSigningKeyPair } from '@hookpost/signing';
import { decideCreate, decidePatch, decideReplace, decideReseal, decideRotate, type DecideDeps } from '../src/commands/decide';
import { decidePause, decideSkipHead, decideTaskCancel, scheduledFor, SKIPPED_BY_OPERATOR } from '../src/commands/svixDecide';

const now = new Date('2026-01-01T00:00:00.000Z');
const oldKey = { id: 'old', key: randomBytes(32) };
const newKey = { id: 'new', key: randomBytes(32) };
let ids = 0;

function depsWith(keys: { id: string; key: Buffer }[], at = now): DecideDeps {
  return {
    now: () => at,
    newId: () => `00000000-0000-4000-8000-${String(++ids).padStart(12, '0')}`,
    secrets: new SecretBox(keys),
    generateSecret: () => generateSecret(32),
    generateSigningKeyPair,
    rotationOverlapMs: 60_000,
    refuseTarget: () => undefined,
  };
}
const deps = depsWith([oldKey]);
const open = (keys: { id: string; key: Buffer }[], sealed: string, id: string, field: 'secret' | 'previous_secret') => new SecretBox(keys).open(sealed, sealedFor(id, field));

function created(withDeps = deps): { state: SubscriptionState; secret: string } {
  const { event, secret } = decideCreate({ name: 's', target_url: 'https://example.com/hook' }, withDeps);
  return { state: event.data, secret: secret! };
}

/** What the subscription's change makes of it (the fold's result for the fields it sets). */
const after = (state: SubscriptionState, changes: object): SubscriptionState => ({ ...state, ...changes, version: state.version + 1 });

describe('gateway decisions: sealed secrets', () => {
  it('seals a new subscription secret for that subscription and its secret field', () => {
    const { state, secret } = created();
    expect(state.secret).toMatch(/^sealed:v2:old:/);
    expect(open([oldKey], state.secret, state.id, 'secret')).toBe(secret);
    expect(() => open([oldKey], state.secret, '00000000-0000-4000-8000-0000000000ff', 'secret')).toThrow('sealed for another subscription or field');
  });

  it('seals a secret chosen in PUT or PATCH for the subscription it changes', () => {
    const { state } = created();
    const chosen = 'whsec_' + Buffer.alloc(32, 7).toString('base64');
    const patched = decidePatch(state, { secret_key: chosen }, deps).data.changes.secret!;
    const replaced = decideReplace(state, { name: 's', target_url: 'https://example.com/hook', secret_key: chosen }, deps).data.changes.secret!;
    for (const sealed of [patched, replaced]) expect(open([oldKey], sealed, state.id, 'secret')).toBe(chosen);
  });

  it('rotates with the current secret re-sealed as the previous one, which opens only as previous_secret', () => {
    const { state, secret } = created();
    const rotated = decideRotate(state, {}, deps);
    const changes = rotated.event.data.changes;
    expect(open([oldKey], changes.previous_secret!, state.id, 'previous_secret')).toBe(secret);
    expect(() => open([oldKey], changes.previous_secret!, state.id, 'secret')).toThrow('sealed for another subscription or field');
    expect(open([oldKey], changes.secret!, state.id, 'secret')).toBe(rotated.secret);
    expect(changes.previous_secret_expires_at).toBe('2026-01-01T00:01:00.000Z');
    expect(rotated.previousExpiresAt).toBe('2026-01-01T00:01:00.000Z');
  });

  it('rotates a subscription whose secret no configured key opens without an overlap (it could not sign anyway)', () => {
    const { state } = created(depsWith([{ id: 'gone', key: randomBytes(32) }]));
    const rotated = decideRotate(state, {}, deps);
    expect(rotated.event.data.changes).toMatchObject({ previous_secret: null, previous_secret_expires_at: null });
    expect(rotated.previousExpiresAt).toBe(now.toISOString());
    expect(open([oldKey], rotated.event.data.changes.secret!, state.id, 'secret')).toBe(rotated.secret);
  });

  it('drops a previous secret whose overlap ended with the next change, whatever it is, and keeps one still in its overlap', () => {
    const { state } = created();
    const rotating = after(state, decideRotate(state, {}, deps).event.data.changes);
    const later = depsWith([oldKey], new Date(now.getTime() + 60_000));
    const cleared = { previous_secret: null, previous_secret_expires_at: null };
    expect(decidePatch(rotating, { name: 'renamed' }, later).data.changes).toEqual({ name: 'renamed', ...cleared });
    expect(decideReplace(rotating, { name: 'r', target_url: 'https://example.com/hook' }, later).data.changes).toMatchObject(cleared);
    expect(decideReseal(rotating, later)?.data).toMatchObject({ cause: 'resealed', changes: cleared });
    // A change within the overlap keeps it
    const sooner = depsWith([oldKey], new Date(now.getTime() + 59_999));
    expect(decidePatch(rotating, { name: 'renamed' }, sooner).data.changes).toEqual({ name: 'renamed' });
  });
});

describe('gateway decisions: resealing under a new master key', () => {
  const rotatedDeps = depsWith([newKey, oldKey]);

  it('re-seals the secret and a previous secret in its overlap under the first key, so the old key can go', () => {
    // Given a subscription in a rotation's overlap, sealed under the old key
    const { state, secret: first } = created();
    const rotation = decideRotate(state, {}, deps);
    const rotating = after(state, rotation.event.data.changes);
    // When it is resealed with the new key first
    const event = decideReseal(rotating, rotatedDeps)!;
    expect(event.data).toMatchObject({ id: state.id, cause: 'resealed', version: rotating.version + 1 });
    const resealed = after(rotating, event.data.changes);
    // Then both open with the new key alone, to the same secrets, each in its own field
    expect(resealed.secret).toMatch(/^sealed:v2:new:/);
    expect(resealed.previous_secret).toMatch(/^sealed:v2:new:/);
    expect(open([newKey], resealed.secret, state.id, 'secret')).toBe(rotation.secret);
    expect(open([newKey], resealed.previous_secret!, state.id, 'previous_secret')).toBe(first);
    expect(resealed.previous_secret_expires_at).toBe(rotating.previous_secret_expires_at);
    // and resealing again changes nothing
    expect(decideReseal(resealed, rotatedDeps)).toBeUndefined();
  });

  it('turns a sealed:v1 secret (no associated data) into v2 bound to its subscription', () => {
    const { state, secret } = created();
    const iv = randomBytes(12);
    const cipher = createCipheriv('aes-256-gcm', oldKey.key, iv);
    const body = Buffer.concat([cipher.update(secret, 'utf8'), cipher.final()]);
    const v1 = `sealed:v1:old:${Buffer.concat([iv, cipher.getAuthTag(), body]).toString('base64')}`;
    const event = decideReseal({ ...state, secret: v1 }, deps)!;
    expect(event.data.changes.secret).toMatch(/^sealed:v2:old:/);
    expect(open([oldKey], event.data.changes.secret!, state.id, 'secret')).toBe(secret);
  });

  it('throws for a secret no configured key opens, and leaves the subscription as it is', () => {
    const { state } = created(depsWith([{ id: 'lost', key: randomBytes(32) }]));
    expect(() => decideReseal(state, rotatedDeps)).toThrow('no key with id lost');
  });
});

describe('pausing an endpoint and cancelling a task (Svix API extensions)', () => {
  it('records a pause and a resume, and nothing when the endpoint is already so', () => {
    const { state } = created();
    expect(decidePause(state, false, deps)).toBeUndefined();
    const paused = decidePause(state, true, deps)!;
    expect(paused.data).toMatchObject({ id: state.id, version: state.version + 1, changes: { paused: true }, cause: 'paused' });
    expect(decidePause({ ...state, paused: true }, true, deps)).toBeUndefined();
    expect(decidePause({ ...state, paused: true }, false, deps)!.data).toMatchObject({ changes: { paused: false }, cause: 'resumed' });
  });

  it('cancels a running task, answers a cancelled one again, and cannot cancel one that ended', () => {
    const task = { id: '33333333-3333-4333-8333-333333333333', app_id: '44444444-4444-4444-8444-444444444444' };
    expect(decideTaskCancel({ ...task, status: 'running' }, deps)).toMatchObject({ kind: 'cancel', event: { type: 'BackgroundTaskCancelled', data: { task_id: task.id, app_id: task.app_id } } });
    expect(decideTaskCancel({ ...task, status: 'cancelled' }, deps)).toEqual({ kind: 'cancelled already' });
    expect(decideTaskCancel({ ...task, status: 'finished' }, deps)).toEqual({ kind: 'ended', status: 'finished' });
    expect(decideTaskCancel({ ...task, status: 'failed' }, deps)).toEqual({ kind: 'ended', status: 'failed' });
  });
});

describe("a message's deliverAt", () => {
  const at = new Date('2026-01-01T00:00:00.000Z');

  it('is at once when absent, null, now or past', () => {
    expect(scheduledFor(undefined, at, 24)).toBeUndefined();
    expect(scheduledFor(null, at, 24)).toBeUndefined();
    expect(scheduledFor('2026-01-01T00:00:00Z', at, 24)).toBeUndefined();
    expect(scheduledFor('2025-12-31T00:00:00Z', at, 24)).toBeUndefined();
  });

  it('is the time, in UTC, when ahead and before the payload’s retention ends', () => {
    expect(scheduledFor('2026-01-01T02:30:00+01:00', at, 24)).toBe('2026-01-01T01:30:00.000Z');
    expect(scheduledFor('2026-01-01T23:59:59.999Z', at, 24)).toBe('2026-01-01T23:59:59.999Z');
  });

  it('is refused (422, naming deliverAt) at or past the end of retention, or when it is no time', () => {
    for (const refused of ['2026-01-02T00:00:00Z', '2027-01-01T00:00:00Z', 'tomorrow']) {
      expect(() => scheduledFor(refused, at, 24)).toThrow(expect.objectContaining({ status: 422 }));
    }
  });
});

describe("an operator's skip of an ordered endpoint's head", () => {
  it('records on the endpoint which delivery to skip, why and when (the dispatcher holding the head cancels it)', () => {
    // Given an ordered endpoint at version 3 whose lane's head is a delivery
    const current = { ...created().state, version: 3, ordered: true };
    const head = { id: '00000000-0000-4000-8000-000000000001', subscription_id: current.id };
    // When an operator skips it
    const event = decideSkipHead(current, head, { now: () => new Date('2026-11-30T05:01:00.000Z'), newId: () => '00000000-0000-4000-8000-0000000000ff' });
    // Then the endpoint's next version names the delivery, and nothing else about the endpoint changes
    expect(event.type).toBe('SubscriptionChanged');
    expect(event.data).toEqual({
      id: current.id,
      version: 4,
      changes: { head_skip: { delivery_id: head.id, reason: SKIPPED_BY_OPERATOR, requested_at: '2026-11-30T05:01:00.000Z' } },
      cause: 'head_skipped',
      detail: null,
      changed_at: '2026-11-30T05:01:00.000Z',
    });
  });
});
