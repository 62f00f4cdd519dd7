import { makeEvent, topicFor, topicNames, type HookpostEvent } from '../src';

const topics = topicNames('t.');
const deps = { now: () => new Date('2026-01-01T00:00:00.000Z'), newId: () => '00000000-0000-4000-8000-000000000001' };
const subscriptionId = '11111111-1111-4111-8111-111111111111';
const deliveryId = '22222222-2222-4222-8222-222222222222';
const at = '2026-01-01T00:00:00.000Z';
const state = {
  id: subscriptionId, version: 1, name: 'a', description: null, target_url: 'http://x', is_active: true, event_types: null,
  secret: 'sealed:v1:k:x', max_attempts: null, timeout_ms: null, created_at: at, updated_at: at,
};
const ref = { delivery_id: deliveryId, subscription_id: subscriptionId, event_type: null, received_at: at };
const outcome = { ...ref, attempt_count: 1, last_status_code: 500, last_error: 'HTTP 500' };

describe('topicFor', () => {
  it.each<[string, HookpostEvent, string, string]>([
    ['SubscriptionCreated', makeEvent('SubscriptionCreated', state, deps), topics.subscriptions, subscriptionId],
    ['SubscriptionUpdated', makeEvent('SubscriptionUpdated', { ...state, version: 2 }, deps), topics.subscriptions, subscriptionId],
    ['SubscriptionDeleted', makeEvent('SubscriptionDeleted', { id: subscriptionId, version: 3, deleted_at: at }, deps), topics.subscriptions, subscriptionId],
    ['WebhookReceived', makeEvent('WebhookReceived', { ...ref, payload: {} }, deps), topics.webhooks, subscriptionId],
    [
      'DeliveryAttempted',
      makeEvent('DeliveryAttempted', { ...ref, attempt_number: 1, status_code: 500, duration_ms: 1, error: null, response_headers: null, response_body: null, started_at: at }, deps),
      topics.deliveries,
      deliveryId,
    ],
    ['DeliveryRetryScheduled', makeEvent('DeliveryRetryScheduled', { ...outcome, next_attempt_at: at, delay_ms: 1 }, deps), topics.deliveries, deliveryId],
    ['DeliverySucceeded', makeEvent('DeliverySucceeded', { ...outcome, delivered_at: at }, deps), topics.deliveries, deliveryId],
    ['DeliveryFailed', makeEvent('DeliveryFailed', { ...outcome, reason: 'x' }, deps), topics.deliveries, deliveryId],
    ['DeliveryCancelled', makeEvent('DeliveryCancelled', { ...outcome, reason: 'x' }, deps), topics.deliveries, deliveryId],
    ['DeliveryDeferred', makeEvent('DeliveryDeferred', { ...outcome, attempt_number: 2, next_attempt_at: at, reason: 'x' }, deps), topics.deliveries, deliveryId],
  ])('routes %s to its topic, keyed so its order holds', (_type, event, topic, key) => {
    expect(topicFor(topics, event)).toEqual({ topic, key });
  });
});
