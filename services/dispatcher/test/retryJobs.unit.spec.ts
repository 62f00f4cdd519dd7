import { randomBytes } from 'node:crypto';
import { EnvError } from '@hookpost/platform';
import { readDeliveryJob, type DeliveryJob } from '../src/delivery/deliveryJob';
import { decideReconcileRound, jobForOverdueRetry, RecentReschedules, type OverdueRetry } from '../src/delivery/overdueRetry';
import { readDispatcherEnv } from '../src/env';

const job: DeliveryJob = {
  delivery_id: '22222222-2222-4222-8222-222222222222',
  subscription_id: '11111111-1111-4111-8111-111111111111',
  event_type: 'invoice.paid',
  payload: { event_type: 'invoice.paid', data: { id: 'in_1' } },
  received_at: '2026-01-01T00:00:00.000Z',
  attempt_number: 3,
  last_status_code: 500,
  last_error: 'HTTP 500',
};
const { attempt_number: _attempt, ...body } = job;
const wire = (value: unknown) => Buffer.from(JSON.stringify(value));

describe('reading a job off the retry queue', () => {
  it('reads the body and the attempt header (a number, or its decimal text)', () => {
    expect(readDeliveryJob(wire(body), 3)).toEqual({ ok: true, job });
    expect(readDeliveryJob(wire(body), '3')).toEqual({ ok: true, job });
  });

  it('reads the deferrals header of a deferred attempt, and refuses one that is no count', () => {
    expect(readDeliveryJob(wire(body), 3, 2)).toEqual({ ok: true, job: { ...job, deferrals: 2 } });
    expect(readDeliveryJob(wire(body), 3, '2')).toEqual({ ok: true, job: { ...job, deferrals: 2 } });
    expect(readDeliveryJob(wire(body), 3, 0)).toMatchObject({ ok: false, reason: expect.stringMatching(/deferrals/) });
    expect(readDeliveryJob(wire(body), 3, 'two')).toMatchObject({ ok: false, reason: expect.stringMatching(/deferrals/) });
  });

  it.each<[string, Buffer, unknown, RegExp]>([
    ['a body that is not JSON', Buffer.from('{"delivery_id":'), 3, /not JSON/],
    ['a body that is not an object', wire([body]), 3, /not a JSON object/],
    ['a missing attempt header', wire(body), undefined, /attempt_number/],
    ['an attempt header that is no count', wire(body), 'three', /attempt_number/],
    ['attempt zero', wire(body), 0, /attempt_number/],
    ['a delivery id that is not a UUID', wire({ ...body, delivery_id: 'x' }), 3, /delivery_id/],
    ['a missing payload', wire({ ...body, payload: undefined }), 3, /payload/],
    ['a field it does not know', wire({ ...body, url: 'http://elsewhere' }), 3, /additional/],
    ['a received_at that is no time', wire({ ...body, received_at: 'yesterday' }), 3, /received_at/],
  ])('refuses %s, with the reason to park it under', (_case, content, header, reason) => {
    const read = readDeliveryJob(content, header);
    expect(read.ok).toBe(false);
    expect(read.ok ? '' : read.reason).toMatch(reason);
  });
});

describe('re-scheduling an overdue retry', () => {
  const row: OverdueRetry = {
    id: job.delivery_id,
    subscription_id: job.subscription_id,
    event_type: job.event_type,
    payload: job.payload!,
    created_at: job.received_at,
    attempt_count: 2,
    next_attempt_at: '2026-01-01T00:05:00.000Z',
    last_status_code: 500,
    last_error: 'HTTP 500',
  };

  const now = new Date('2026-01-01T00:10:00.000Z');

  it('makes the job for the attempt after the ones the log has', () => {
    expect(jobForOverdueRetry(row, now)).toEqual({ ok: true, job });
  });

  it('refuses a row that is no job (no payload yet)', () => {
    expect(jobForOverdueRetry({ ...row, payload: null }, now).ok).toBe(false);
    expect(jobForOverdueRetry({ ...row, payload: null, payload_expires_at: null }, now).ok).toBe(false);
  });

  it('makes a job that ends the delivery when its payload is gone: expired past its time, expunged before', () => {
    const expired = jobForOverdueRetry({ ...row, payload: null, payload_expires_at: '2026-01-01T00:09:00.000Z' }, now);
    expect(expired).toEqual({ ok: true, job: expect.objectContaining({ payload_gone: 'expired', attempt_number: 3 }) });
    expect(expired.ok && expired.job.payload).toBeUndefined();
    expect(jobForOverdueRetry({ ...row, payload: null, payload_expires_at: '2026-01-02T00:00:00.000Z' }, now)).toEqual({ ok: true, job: expect.objectContaining({ payload_gone: 'expunged' }) });
    // (a payload still held is retried as it is, whatever its expiry)
    expect(jobForOverdueRetry({ ...row, payload_expires_at: '2026-01-02T00:00:00.000Z' }, now)).toEqual({ ok: true, job });
  });

  it('re-publishes one retry once per window, not every round', () => {
    const recent = new RecentReschedules(1_000);
    expect(recent.claim(job.delivery_id, 3, 0)).toBe(true);
    expect(recent.claim(job.delivery_id, 3, 999)).toBe(false);
    expect(recent.claim(job.delivery_id, 4, 999)).toBe(true);
    expect(recent.claim(job.delivery_id, 3, 1_000)).toBe(true);
    recent.forgetOlderThanWindow(2_500);
    expect(recent.size).toBe(0);
  });
});

describe('dispatcher configuration', () => {
  const base = { HOOKPOST_API_KEYS: 'test-api-key-0123456789abcdef', HOOKPOST_SECRET_KEYS: `unit:${randomBytes(32).toString('base64')}` };

  it('defaults to a lease shorter than the grace and a done window at least as long', () => {
    const env = readDispatcherEnv(base);
    expect(env.HOOKPOST_ATTEMPT_LEASE_MS).toBeLessThan(env.HOOKPOST_RETRY_RECONCILE_GRACE_MS);
    expect(env.HOOKPOST_ATTEMPT_DONE_TTL_MS).toBeGreaterThanOrEqual(env.HOOKPOST_RETRY_RECONCILE_GRACE_MS);
  });

  it('gives each endpoint a quarter of the delivery slots, in flight and waiting, unless told otherwise', () => {
    const env = readDispatcherEnv(base);
    expect([env.HOOKPOST_ENDPOINT_CONCURRENCY, env.HOOKPOST_ENDPOINT_QUEUE]).toEqual([64, 64]);
    const small = readDispatcherEnv({ ...base, DISPATCHER_CONCURRENCY: '6' });
    expect([small.HOOKPOST_ENDPOINT_CONCURRENCY, small.HOOKPOST_ENDPOINT_QUEUE]).toEqual([2, 2]);
    const set = readDispatcherEnv({ ...base, HOOKPOST_ENDPOINT_CONCURRENCY: '8', HOOKPOST_ENDPOINT_QUEUE: '3' });
    expect([set.HOOKPOST_ENDPOINT_CONCURRENCY, set.HOOKPOST_ENDPOINT_QUEUE]).toEqual([8, 3]);
  });

  it('refuses a lease that would outlive the grace, or a done window shorter than it', () => {
    expect(() => readDispatcherEnv({ ...base, HOOKPOST_RETRY_RECONCILE_GRACE_MS: '1000', HOOKPOST_ATTEMPT_LEASE_MS: '1000' })).toThrow(EnvError);
    expect(() => readDispatcherEnv({ ...base, HOOKPOST_RETRY_RECONCILE_GRACE_MS: '1000', HOOKPOST_ATTEMPT_LEASE_MS: '500', HOOKPOST_ATTEMPT_DONE_TTL_MS: '999' })).toThrow(
      /HOOKPOST_ATTEMPT_DONE_TTL_MS/,
    );
  });
});

describe('whether a reconciliation round runs', () => {
  const grace = 3_000;

  it('runs when the ready queue is empty or its depth is unknown (RabbitMQ not connected: when retries are lost)', () => {
    expect(decideReconcileRound(0, undefined, 10_000, grace)).toEqual({ kind: 'reconcile' });
    expect(decideReconcileRound(undefined, 9_000, 10_000, grace)).toEqual({ kind: 'reconcile' });
  });

  it('waits while due retries stand in the ready queue: the dispatchers are behind, and a copy would add to it', () => {
    expect(decideReconcileRound(800, undefined, 10_000, grace)).toEqual({ kind: 'wait', backlogSinceMs: 10_000 });
    expect(decideReconcileRound(5, 10_000, 12_999, grace)).toEqual({ kind: 'wait', backlogSinceMs: 10_000 });
  });

  it('runs anyway once the backlog has stood for the grace period, so a backlog that never drains hides no lost retry', () => {
    expect(decideReconcileRound(5, 10_000, 13_000, grace)).toEqual({ kind: 'reconcile' });
  });
});
