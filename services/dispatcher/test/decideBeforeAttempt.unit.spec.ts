import { createCipheriv, randomBytes } from 'node:crypto';
import type { SubscriptionState } from '@hookpost/contracts';
import { SecretBox, sealedFor } from '@hookpost/platform';
import { generateSigningKeyPair, verify } from '@hookpost/signing';
import { decideBeforeAttempt, type BeforeAttempt } from '../src/delivery/decideBeforeAttempt';
import type { DeliveryJob } from '../src/delivery/deliveryJob';

const now = new Date('2026-01-01T00:00:00.000Z');
let ids = 0;
const currentKey = { id: 'current', key: randomBytes(32) };
const box = new SecretBox([currentKey]);
const removedKey = new SecretBox([{ id: 'removed', key: randomBytes(32) }]);
const deps = { now: () => now, newId: () => `00000000-0000-4000-8000-${String(++ids).padStart(12, '0')}`, openSecret: (sealed: string, context: string) => box.open(sealed, context) };
const subscriptionId = '11111111-1111-4111-8111-111111111111';
const asSecret = sealedFor(subscriptionId, 'secret');
const asPrevious = sealedFor(subscriptionId, 'previous_secret');
const secret = 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw';
const message = { body: '{"event_type":"invoice.paid"}', timestamp: now };

const subscription: SubscriptionState = {
  id: subscriptionId,
  version: 3,
  name: 's',
  description: null,
  target_url: 'http://127.0.0.1:1/hook',
  is_active: true,
  event_types: null,
  secret: box.seal(secret, asSecret),
  max_attempts: null,
  timeout_ms: null,
  created_at: now.toISOString(),
  updated_at: now.toISOString(),
};

// The second attempt: a failure before it must keep what the first one recorded.
const job: DeliveryJob = {
  delivery_id: '22222222-2222-4222-8222-222222222222',
  subscription_id: subscription.id,
  event_type: 'invoice.paid',
  payload: { event_type: 'invoice.paid' },
  received_at: now.toISOString(),
  attempt_number: 2,
  last_status_code: 500,
  last_error: 'HTTP 500',
};

/** A value as SecretBox sealed it before associated data: sealed:v1, AES-256-GCM with no AAD. */
function legacySealV1(plaintext: string): string {
  const iv = randomBytes(12);
  const cipher = createCipheriv('aes-256-gcm', currentKey.key, iv);
  const ciphertext = Buffer.concat([cipher.update(plaintext, 'utf8'), cipher.final()]);
  return `sealed:v1:${currentKey.id}:${Buffer.concat([iv, cipher.getAuthTag(), ciphertext]).toString('base64')}`;
}

function failure(before: BeforeAttempt) {
  expect(before.kind).toBe('failed');
  if (before.kind !== 'failed') throw new Error('unreachable');
  expect(before.events).toHaveLength(1);
  const [event] = before.events;
  expect(event!.type).toBe('DeliveryFailed');
  // The attempt was not made: the count and the status code stay those of attempt 1; the reason is the last error.
  expect(event!.data).toMatchObject({ delivery_id: job.delivery_id, attempt_count: 1, last_status_code: 500, last_error: before.reason, reason: before.reason });
  return before.reason;
}

describe('decideBeforeAttempt', () => {
  it('signs with the opened secret so the receiver verifies it', () => {
    const before = decideBeforeAttempt(job, subscription, message, deps);
    if (before.kind !== 'attempt') throw new Error(`expected an attempt, got ${before.kind}`);
    expect(before.subscription).toBe(subscription);
    expect(before.warning).toBeUndefined();
    expect(verify(secret, message.body, before.headers, { now })).toEqual({ event_type: 'invoice.paid' });
  });

  it('cancels for a deleted, unknown or disabled subscription', () => {
    const deleted = decideBeforeAttempt(job, { id: subscription.id, version: 4, deleted: true }, message, deps);
    expect(deleted).toMatchObject({ kind: 'cancelled', reason: 'subscription deleted' });
    expect(decideBeforeAttempt(job, undefined, message, deps)).toMatchObject({ kind: 'cancelled', reason: 'subscription deleted' });
    const disabled = decideBeforeAttempt(job, { ...subscription, is_active: false }, message, deps);
    expect(disabled).toMatchObject({ kind: 'cancelled', reason: 'subscription disabled' });
    if (disabled.kind === 'attempt') throw new Error('unreachable');
    expect(disabled.events.map((event) => event.type)).toEqual(['DeliveryCancelled']);
  });

  it('fails when the state does not match its schema, naming the fields', () => {
    const { secret: _secret, ...withoutSecret } = subscription;
    expect(failure(decideBeforeAttempt(job, withoutSecret as never, message, deps))).toMatch(/^subscription state is invalid: .*secret/);
    expect(failure(decideBeforeAttempt(job, { ...subscription, is_active: 'yes' } as never, message, deps))).toMatch(/is_active: must be boolean/);
    expect(failure(decideBeforeAttempt(job, { ...subscription, id: 'nope' } as never, message, deps))).toMatch(/id: must match format "uuid"/);
    expect(failure(decideBeforeAttempt(job, 42 as never, message, deps))).toMatch(/must be object/);
    expect(failure(decideBeforeAttempt(job, null as never, message, deps))).toMatch(/must be object/);
  });

  it('takes a state with a property it does not know (a newer writer may add one)', () => {
    expect(decideBeforeAttempt(job, { ...subscription, added_later: 1 } as never, message, deps).kind).toBe('attempt');
  });

  it('fails when no configured master key opens the secret', () => {
    const reason = failure(decideBeforeAttempt(job, { ...subscription, secret: removedKey.seal(secret, asSecret) }, message, deps));
    expect(reason).toMatch(/secret cannot be opened \(no key with id removed/);
    expect(reason).toContain('HOOKPOST_SECRET_KEYS');
    expect(failure(decideBeforeAttempt(job, { ...subscription, secret: 'not sealed' }, message, deps))).toMatch(/cannot be opened/);
  });

  it('fails when the secret was sealed for another subscription or for another field (swapped in the state)', () => {
    const other = '33333333-3333-4333-8333-333333333333';
    const fromOther = failure(decideBeforeAttempt(job, { ...subscription, secret: box.seal(secret, sealedFor(other, 'secret')) }, message, deps));
    expect(fromOther).toBe(`the subscription's secret cannot be opened (it does not open as subscription:${subscriptionId}:secret under key current: sealed for another subscription or field, or altered)`);
    expect(failure(decideBeforeAttempt(job, { ...subscription, secret: box.seal(secret, asPrevious) }, message, deps))).toMatch(/sealed for another subscription or field/);
  });

  it('still opens a secret sealed before associated data (sealed:v1) and signs with it', () => {
    const v1 = legacySealV1(secret);
    const before = decideBeforeAttempt(job, { ...subscription, secret: v1 }, message, deps);
    if (before.kind !== 'attempt') throw new Error(`expected an attempt, got ${before.kind}`);
    expect(verify(secret, message.body, before.headers, { now })).toEqual({ event_type: 'invoice.paid' });
  });

  it('fails when the secret cannot sign (an ed25519 key of the wrong length) and never leaks the secret', () => {
    const reason = failure(decideBeforeAttempt(job, { ...subscription, secret: box.seal('whsk_AAAAAAAAAAAAAAAAAAAAAAAA', asSecret) }, message, deps));
    expect(reason).toBe("the subscription's secret cannot sign (an ed25519 signing key has 32 bytes)");
    expect(reason).not.toContain('whsk_');
  });

  it('signs with both secrets during a rotation, and after it with the current one only', () => {
    const previous = 'whsec_' + Buffer.alloc(32, 1).toString('base64');
    const rotating = { ...subscription, previous_secret: box.seal(previous, asPrevious), previous_secret_expires_at: new Date(now.getTime() + 60_000).toISOString() };
    const during = decideBeforeAttempt(job, rotating, message, deps);
    if (during.kind !== 'attempt') throw new Error('expected an attempt');
    expect(during.headers['webhook-signature'].split(' ')).toHaveLength(2);
    expect(verify(previous, message.body, during.headers, { now })).toBeDefined();
    const after = decideBeforeAttempt(job, rotating, { ...message, timestamp: new Date(now.getTime() + 60_000) }, deps);
    if (after.kind !== 'attempt') throw new Error('expected an attempt');
    expect(after.headers['webhook-signature'].split(' ')).toHaveLength(1);
  });

  it('leaves out a previous secret that cannot be used, with a warning, and still signs with the current one', () => {
    const expiresAt = new Date(now.getTime() + 60_000).toISOString();
    for (const previous of [removedKey.seal(secret, asPrevious), box.seal('whsk_short', asPrevious), box.seal(secret, asSecret)]) {
      const before = decideBeforeAttempt(job, { ...subscription, previous_secret: previous, previous_secret_expires_at: expiresAt }, message, deps);
      if (before.kind !== 'attempt') throw new Error('expected an attempt');
      expect(before.warning).toMatch(/^the previous secret was left out: /);
      expect(before.headers['webhook-signature'].split(' ')).toHaveLength(1);
      expect(verify(secret, message.body, before.headers, { now })).toBeDefined();
    }
  });

  it('works with an ed25519 subscription', () => {
    const { signingKey, publicKey } = generateSigningKeyPair();
    const ed = { ...subscription, signature_scheme: 'ed25519' as const, public_key: publicKey, secret: box.seal(signingKey, asSecret) };
    const before = decideBeforeAttempt(job, ed, message, deps);
    if (before.kind !== 'attempt') throw new Error('expected an attempt');
    expect(verify(publicKey, message.body, before.headers, { now })).toBeDefined();
  });
});
