import {
  compile,
  endpointDisabledEventDataSchema,
  endpointEventDataSchema,
  fromExternalId,
  makeEvent,
  messageAttemptEventDataSchema,
  OPERATIONAL_APPLICATION_ID,
  type SubscriptionEvent,
  type SubscriptionState,
} from '@hookpost/contracts';
import { decideAfterAttempt, type AttemptRecord } from '../src/delivery/decideAfterAttempt';
import type { DeliveryJob } from '../src/delivery/deliveryJob';
import { attemptFacts, attemptMessages, endpointFacts, endpointMessages, operationalMessageId } from '../src/delivery/operationalEvents';

const now = new Date('2026-01-01T00:00:00.000Z');
let ids = 0;
const deps = { now: () => now, newId: () => `00000000-0000-4000-8000-${String(++ids).padStart(12, '0')}`, random: () => 0.5 };
const policy = { schedule: [0, 1_000, 2_000, 3_000, 4_000], jitter: 0, retryAfterMaxMs: 10_000 };
const APP = '0190a000-0000-7000-8000-00000000a001';

const endpoint: SubscriptionState = {
  id: '0190a000-0000-7000-8000-00000000e001',
  version: 2,
  name: 'e',
  description: '',
  target_url: 'http://127.0.0.1:1/hook',
  is_active: true,
  event_types: null,
  secret: 'sealed:v1:k:x',
  max_attempts: null,
  timeout_ms: null,
  app_id: APP,
  uid: 'billing',
  created_at: now.toISOString(),
  updated_at: now.toISOString(),
};
const job = (attempt_number: number): DeliveryJob => ({
  delivery_id: '0190a000-0000-7000-8000-00000000d001',
  subscription_id: endpoint.id,
  message_id: '0190a000-0000-7000-8000-00000000c001',
  event_type: 'invoice.paid',
  payload: {},
  received_at: '2025-12-31T23:00:00.000Z',
  attempt_number,
  last_status_code: null,
  last_error: null,
});
const attempt = (result: AttemptRecord['result']): AttemptRecord => ({ result, started_at: now, duration_ms: 3, response_headers: {}, response_body: '' });
const failed = attempt({ kind: 'response', statusCode: 503 });
const succeeded = attempt({ kind: 'response', statusCode: 200 });
const outcome = (n: number, record: AttemptRecord, on: SubscriptionState = endpoint) => decideAfterAttempt(job(n), on, record, policy, deps).events;
const factsOf = (n: number, record: AttemptRecord, on: SubscriptionState = endpoint) => attemptFacts(outcome(n, record, on), on, 3).map((fact) => fact.type);

describe('attemptFacts: what an attempt reports to the operational endpoints', () => {
  it('reports a delivery failing once, at its Nth failed attempt (N = 3 here), when more attempts follow', () => {
    expect(factsOf(1, failed)).toEqual([]);
    expect(factsOf(2, failed)).toEqual([]);
    expect(factsOf(3, failed)).toEqual(['message.attempt.failing']);
    expect(factsOf(4, failed)).toEqual([]);
  });

  it('reports a delivery exhausted when its last attempt failed, or it ended failed otherwise after an attempt (410, refused target)', () => {
    expect(factsOf(5, failed)).toEqual(['message.attempt.exhausted']);
    expect(factsOf(1, attempt({ kind: 'response', statusCode: 410 }))).toEqual(['message.attempt.exhausted']);
    expect(factsOf(2, attempt({ kind: 'blocked', error: 'private address' }))).toEqual(['message.attempt.exhausted']);
  });

  it('reports a success as recovered only after failing was reported for that delivery', () => {
    expect(factsOf(1, succeeded)).toEqual([]);
    expect(factsOf(3, succeeded)).toEqual([]);
    expect(factsOf(4, succeeded)).toEqual(['message.attempt.recovered']);
  });

  it("reports nothing about the operational endpoints' own deliveries (no loop)", () => {
    const operational = { ...endpoint, app_id: OPERATIONAL_APPLICATION_ID };
    expect(factsOf(3, failed, operational)).toEqual([]);
    expect(factsOf(5, failed, operational)).toEqual([]);
    expect(factsOf(4, succeeded, operational)).toEqual([]);
  });
});

describe('attemptMessages', () => {
  const isData = compile(messageAttemptEventDataSchema);

  it("is a message to the reserved application, in Svix's shape, naming the attempt as the API shows it", () => {
    const events = outcome(5, failed);
    const [message] = attemptMessages(attemptFacts(events, endpoint, 3), endpoint, { appUid: 'acme', msgEventId: 'evt-1' }, deps);
    const attempted = events[0]!;
    expect(message!.type).toBe('MessageCreated');
    expect(message!.data).toMatchObject({ app_id: OPERATIONAL_APPLICATION_ID, event_type: 'message.attempt.exhausted', event_id: null, channels: null });
    const payload = message!.data.payload as { type: string; timestamp: string; data: Record<string, any> };
    expect(payload.type).toBe('message.attempt.exhausted');
    expect(payload.timestamp).toBe(now.toISOString());
    expect(isData(payload.data).ok).toBe(true);
    expect(fromExternalId('app', payload.data.appId)).toBe(APP);
    expect(fromExternalId('ep', payload.data.endpointId)).toBe(endpoint.id);
    expect(fromExternalId('msg', payload.data.msgId)).toBe(job(5).message_id);
    expect(fromExternalId('atmpt', payload.data.lastAttempt.id)).toBe(attempted.id);
    expect(payload.data).toMatchObject({ appUid: 'acme', msgEventId: 'evt-1', lastAttempt: { responseStatusCode: 503, timestamp: now.toISOString() } });
  });

  it('names the same message however often the same fact is derived (a repeated attempt), and another one for another fact', () => {
    const once = attemptMessages(attemptFacts(outcome(3, failed), endpoint, 3), endpoint, { appUid: null, msgEventId: null }, deps)[0]!;
    const again = attemptMessages(attemptFacts(outcome(3, attempt({ kind: 'network-error', error: 'reset' })), endpoint, 3), endpoint, { appUid: null, msgEventId: null }, deps)[0]!;
    const exhausted = attemptMessages(attemptFacts(outcome(5, failed), endpoint, 3), endpoint, { appUid: null, msgEventId: null }, deps)[0]!;
    expect(again.data.message_id).toBe(once.data.message_id);
    expect(exhausted.data.message_id).not.toBe(once.data.message_id);
    // (a time-ordered id of the delivery's time, like every message id)
    expect(once.data.message_id).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    expect(once.data.message_id).toBe(operationalMessageId(`message.attempt.failing/${job(3).delivery_id}`, new Date(job(3).received_at)));
  });

  it('names a delivery of the seed\'s ingest (no message) by its own id', () => {
    const { message_id: _none, ...ingested } = job(5);
    const events = decideAfterAttempt(ingested, endpoint, failed, policy, deps).events;
    const [message] = attemptMessages(attemptFacts(events, endpoint, 3), endpoint, { appUid: null, msgEventId: null }, deps);
    expect(fromExternalId('msg', (message!.data.payload as { data: { msgId: string } }).data.msgId)).toBe(ingested.delivery_id);
  });
});

describe('endpointFacts: what a configuration event reports', () => {
  const changed = (data: Partial<Extract<SubscriptionEvent, { type: 'SubscriptionChanged' }>['data']>) =>
    makeEvent('SubscriptionChanged', { id: endpoint.id, version: 3, changes: {}, cause: 'patched', detail: null, changed_at: now.toISOString(), ...data }, deps);
  const types = (event: SubscriptionEvent) => endpointFacts(event).map((fact) => fact.type);

  it('reports a creation and a deletion', () => {
    expect(types(makeEvent('SubscriptionCreated', endpoint, deps))).toEqual(['endpoint.created']);
    expect(types(makeEvent('SubscriptionDeleted', { id: endpoint.id, version: 3, deleted_at: now.toISOString() }, deps))).toEqual(['endpoint.deleted']);
  });

  it('reports a change through the API as updated, and an enable or disable it made as well', () => {
    expect(types(changed({ changes: { description: 'x' }, was_active: true }))).toEqual(['endpoint.updated']);
    expect(types(changed({ changes: { is_active: false }, was_active: true }))).toEqual(['endpoint.updated', 'endpoint.disabled']);
    expect(endpointFacts(changed({ changes: { is_active: false }, was_active: true }))[1]).toEqual({ type: 'endpoint.disabled', trigger: 'manual', failSince: null, reason: null });
    expect(types(changed({ cause: 'replaced', changes: { is_active: true }, was_active: false }))).toEqual(['endpoint.updated', 'endpoint.enabled']);
    expect(types(changed({ cause: 'secret_rotated', changes: { secret: 'sealed:v1:k:y' }, was_active: true }))).toEqual(['endpoint.updated']);
  });

  it('does not take a PUT that restates the state for an enable (nor guess, for events written before was_active)', () => {
    expect(types(changed({ cause: 'replaced', changes: { is_active: true }, was_active: true }))).toEqual(['endpoint.updated']);
    expect(types(changed({ cause: 'replaced', changes: { is_active: false } }))).toEqual(['endpoint.updated']);
  });

  it("reports the dispatcher's own disable as automatic, with its reason and since when it failed", () => {
    const failing = changed({ cause: 'endpoint_failing', changes: { is_active: false }, was_active: true, detail: 'every attempt failed since …', failing_since: '2025-12-27T00:00:00.000Z' });
    expect(endpointFacts(failing)).toEqual([{ type: 'endpoint.disabled', trigger: 'automatic', failSince: '2025-12-27T00:00:00.000Z', reason: 'every attempt failed since …' }]);
    const gone = changed({ cause: 'endpoint_gone', changes: { is_active: false }, was_active: true, detail: 'the endpoint answered 410 Gone' });
    expect(endpointFacts(gone)).toEqual([{ type: 'endpoint.disabled', trigger: 'automatic', failSince: null, reason: 'the endpoint answered 410 Gone' }]);
  });

  it('reports nothing for a re-sealed secret', () => {
    expect(types(changed({ cause: 'resealed', changes: { secret: 'sealed:v2:k:y' }, was_active: true }))).toEqual([]);
  });
});

describe('endpointMessages', () => {
  it("carries each fact in Svix's shape, one message per configuration event and kind", () => {
    const event = makeEvent('SubscriptionChanged', { id: endpoint.id, version: 3, changes: { is_active: false }, cause: 'patched', detail: null, changed_at: now.toISOString(), was_active: true }, deps);
    const messages = endpointMessages(event, endpointFacts(event), { endpoint, appUid: 'acme' }, deps);
    expect(messages.map((message) => message.data.event_type)).toEqual(['endpoint.updated', 'endpoint.disabled']);
    const [updated, disabled] = messages.map((message) => message.data.payload as { type: string; timestamp: string; data: Record<string, unknown> });
    expect(compile(endpointEventDataSchema)(updated!.data).ok).toBe(true);
    expect(compile(endpointDisabledEventDataSchema)(disabled!.data).ok).toBe(true);
    expect(disabled).toEqual({
      type: 'endpoint.disabled',
      timestamp: event.occurred_at,
      data: { appId: expect.stringMatching(/^app_/), appUid: 'acme', endpointId: expect.stringMatching(/^ep_/), endpointUid: 'billing', trigger: 'manual', failSince: null, reason: null },
    });
    // The same event read again (a Kafka redelivery) names the same messages.
    expect(endpointMessages(event, endpointFacts(event), { endpoint, appUid: 'acme' }, deps).map((message) => message.data.message_id)).toEqual(messages.map((message) => message.data.message_id));
    expect(new Set(messages.map((message) => message.data.message_id)).size).toBe(2);
  });

  it("reports nothing about the operational endpoints themselves (no loop)", () => {
    const operational = { ...endpoint, app_id: OPERATIONAL_APPLICATION_ID };
    const event = makeEvent('SubscriptionCreated', operational, deps);
    expect(endpointMessages(event, endpointFacts(event), { endpoint: operational, appUid: null }, deps)).toEqual([]);
  });
});
