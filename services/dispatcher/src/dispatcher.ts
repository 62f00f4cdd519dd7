import { SpanStatusCode, trace } from '@opentelemetry/api';
import { DEFAULT_APPLICATION_ID, PayloadFilters, topicFor, whyEndpointSkips, topicNames, type HookpostEvent, type MessageCreated, type RedeliveryRequested, type SubscriptionState } from '@hookpost/contracts';
import { payloadGoneReason, payloadSubject, SealedPayloadError, type EventRecord, type KafkaEventLog, type Logger, type OpenedPayload, type PayloadKeyring, type SecretBox, type SubscriptionDirectory, type SubscriptionWriter } from '@hookpost/platform';
import { persistently } from './persistently';
import { decideAfterAttempt, decideCancel, decideDisable, type Decision, type DisableRequest } from './delivery/decideAfterAttempt';
import { decideBeforeAttempt } from './delivery/decideBeforeAttempt';
import type { AttemptGuard } from './adapters/redisAttemptGuard';
import { payloadSubjectOf, type DeliveryJob } from './delivery/deliveryJob';
import { decideFanOut, decideRedelivery } from './delivery/fanOut';
import { decideRelease, jobForHeldDelivery, stillPaused, type HeldDelivery } from './delivery/hold';
import type { StoredMessage } from './adapters/projectorDeliveries';
import { endpointOf, type EndpointShares } from './delivery/endpointShare';
import { decideDeferral, type DeferralCause } from './delivery/deferral';
import { decideRatePacing, effectiveRateLimit, rateWindowMs, tooLateForSlot, type RateLimiter, type RatePacing, type RatePacingOutcome, type RateWindowSettings } from './delivery/rateLimit';
import type { RetryPolicy } from './delivery/retryPolicy';
import type { HttpEndpointClient } from './adapters/httpEndpointClient';
import type { RetryingDelivery } from './adapters/projectorDeliveries';
import type { EndpointHealthStore } from './adapters/redisEndpointHealth';
import { circuitOf, decideSustainedFailure, probeDeferralDelay, probingReason, type EndpointHealth, type EndpointHealthLimits } from './delivery/endpointHealth';
import { attemptFacts, attemptMessages, type AttemptContext } from './delivery/operationalEvents';
import { LaneOrder } from './lane/laneOrder';

const tracer = trace.getTracer('hookpost-dispatcher');
/** How long recording an outcome may wait for Kafka before it is tried again. */
const RECORD_TIMEOUT_MS = 10_000;

export type DispatcherDeps = {
  /** `fromReadModel`: the endpoint as of every write acknowledged before the call (a hold's second look). */
  directory: Pick<SubscriptionDirectory, 'find' | 'fromReadModel'>;
  /** Every live endpoint of an application, as of every write acknowledged before the call (the fan-out's input). */
  endpointsOf: (appId: string) => Promise<SubscriptionState[]>;
  /** How many first attempts of one message's fan-out run at once. */
  fanOutConcurrency: number;
  /** A message from the read model (resend). */
  messageById: (id: string) => Promise<StoredMessage | undefined>;
  /** Changes a subscription under its writer lock (the automatic disable: 410, or sustained failure). */
  writer: Pick<SubscriptionWriter, 'change'>;
  endpoint: Pick<HttpEndpointClient, 'post'>;
  retries: RetrySchedule;
  /** Ordered endpoints' lanes: puts jobs at the end of their endpoints' lanes, in the order given (lane/rabbitLanes.ts). */
  lanes: { enqueue: (jobs: readonly DeliveryJob[]) => Promise<void> };
  /** Each endpoint's share of the delivery slots: an attempt whose endpoint has none free is deferred. */
  shares: Pick<EndpointShares, 'take'>;
  /** Each endpoint's rate limit, shared by every dispatcher: an attempt over it waits or is deferred. */
  rateLimiter: RateLimiter;
  /** An application's default rate limit for its endpoints that set none (null: none), remembered a few seconds. */
  applicationRateLimit: (appId: string) => Promise<number | null>;
  rateWindow: RateWindowSettings;
  /** How an attempt went past its endpoint's rate limit (metrics). */
  paced?: (outcome: RatePacingOutcome, waitMs: number) => void;
  guard: AttemptGuard;
  /** Each endpoint's record of failed attempts, shared by every dispatcher (probing, automatic disable). */
  health: EndpointHealthStore;
  healthLimits: EndpointHealthLimits;
  /** Operational webhooks: which failed attempt reports `message.attempt.failing`, and what an event says besides the attempt. */
  operational: {
    failingAttempt: number;
    /** Whether any operational endpoint would receive an event (none: nothing is written). */
    anyAudience: () => Promise<boolean>;
    /** The application's uid and the message's eventId, best effort (null when they cannot be looked up in time). */
    contextOf: (endpoint: SubscriptionState, messageId: string | undefined) => Promise<AttemptContext>;
  };
  /** How long a claim on an attempt lasts unless renewed (renewed every third of it while the attempt runs). */
  leaseMs: number;
  eventLog: Pick<KafkaEventLog, 'append'>;
  secretBox: Pick<SecretBox, 'open'>;
  /** Opens sealed payloads with their retention bucket's keys (the key store, cached). */
  payloads: Pick<PayloadKeyring, 'open' | 'sealInto'>;
  policy: RetryPolicy;
  defaultTimeoutMs: number;
  topicPrefix: string;
  log: Logger;
  now: () => Date;
  newId: () => string;
  random: () => number;
  isStopping: () => boolean;
  observe?: (events: readonly HookpostEvent[]) => void;
  /** A copy of an attempt that was made already, or a cancel that another path made, was skipped. */
  skipped?: (why: 'attempted already' | 'cancel not needed') => void;
  /** Held deliveries released (by a resume, or by the hold's own second look). */
  released?: (count: number) => void;
};

type RetrySchedule = { schedule: (job: DeliveryJob, delayMs: number) => Promise<void> };

/**
 * What became of a lane's attempt (attemptInLane): its delivery ended (the lane lets it go), or it goes on
 * (a retry, a deferral, a hold, or the attempt was made already): the lane reads where it stands again.
 */
export type LaneAttemptOutcome = 'ended' | 'goes on';

/**
 * What became of one job: the attempt was made (with the endpoint's status code, when it answered), the
 * delivery ended without one (cancelled, or failed as unattemptable), or the attempt was deferred to later
 * because its endpoint had no free slot: then nothing is recorded and the attempt number stays unclaimed.
 */
type JobOutcome = { kind: 'attempted'; statusCode: number | undefined } | { kind: 'ended' } | { kind: 'deferred'; delayMs: number } | { kind: 'held' };

/** Whether the attempt still is to be made (its claim is given back): it was put off, or held. */
const stillToMake = (outcome: JobOutcome) => outcome.kind === 'deferred' || outcome.kind === 'held';

/**
 * Makes one attempt of a delivery and records it. Once the endpoint has been called, recording the outcome
 * (and scheduling the retry) is retried here until it succeeds, so a broker hiccup never re-POSTs, and
 * never drops, a delivery. The caller acknowledges its message only after this resolves.
 *
 * Every attempt number of a delivery is claimed in the attempt guard first (see redisAttemptGuard.ts), so a
 * job that exists twice (RabbitMQ's copy and the reconciler's, or a Kafka redelivery) is attempted, or
 * cancelled, once.
 */
export class Dispatcher {
  private readonly topics;
  /** Endpoints' payload filters, compiled once per endpoint version. */
  private readonly payloadFilters = new PayloadFilters();
  /** Puts each application's messages in their lanes in the order of the log. */
  private readonly laneOrder = new LaneOrder();

  constructor(private readonly deps: DispatcherDeps) {
    this.topics = topicNames(deps.topicPrefix);
  }

  attempt(job: DeliveryJob): Promise<void> {
    return tracer.startActiveSpan(
      'webhook attempt',
      { attributes: { 'hookpost.delivery_id': job.delivery_id, 'hookpost.subscription_id': job.subscription_id, 'hookpost.attempt_number': job.attempt_number } },
      async (span) => {
        try {
          const attempted = await this.claimed(job, 'wait', () => this.attemptInSpan(job), (outcome) => !stillToMake(outcome));
          if (!attempted.ran) {
            this.deps.log.debug({ delivery_id: job.delivery_id, attempt: job.attempt_number }, 'attempt made already; copy skipped');
            this.deps.skipped?.('attempted already');
            span.setAttribute('hookpost.skipped', 'attempted already');
            return;
          }
          const outcome = attempted.value;
          switch (outcome.kind) {
            case 'attempted':
              if (outcome.statusCode !== undefined) span.setAttribute('http.response.status_code', outcome.statusCode);
              break;
            case 'deferred':
              span.setAttribute('hookpost.deferred_ms', outcome.delayMs);
              break;
            case 'held':
              span.setAttribute('hookpost.held', true);
              break;
            case 'ended':
              break;
            default: {
              const unknown: never = outcome;
              throw new Error(`unknown job outcome ${JSON.stringify(unknown)}`);
            }
          }
        } catch (error) {
          span.setStatus({ code: SpanStatusCode.ERROR, message: String(error) });
          throw error;
        } finally {
          span.end();
        }
      },
    );
  }

  /**
   * Runs `work` holding the claim on the job's attempt, renewing the lease while it runs and marking the
   * attempt done once `work` (which records the outcome) resolved, unless `done` says the attempt is still to
   * be made (deferred): then the claim is given back. A copy of an attempt already made is skipped; while
   * another caller holds the claim, `whileRunning` says whether to wait for it to finish (a message must not
   * be finished before its attempt is recorded) or to leave it to that caller.
   */
  private async claimed<T>(
    job: DeliveryJob,
    whileRunning: 'wait' | 'skip',
    work: () => Promise<T>,
    done: (value: T) => boolean = () => true,
  ): Promise<{ ran: true; value: T } | { ran: false; why: 'done' | 'running' }> {
    const { guard, log } = this.deps;
    const { delivery_id: deliveryId, attempt_number: attemptNumber } = job;
    for (;;) {
      const claim = await this.persistently('claim attempt', () => guard.claim(deliveryId, attemptNumber));
      switch (claim.kind) {
        case 'done':
          return { ran: false, why: 'done' };
        case 'running':
          if (whileRunning === 'skip') return { ran: false, why: 'running' };
          if (this.deps.isStopping()) throw new Error('stopping while another dispatcher holds the attempt');
          await sleep(Math.min(Math.max(claim.remainingMs, 50), 1_000));
          continue;
        case 'claimed': {
          const renewal = setInterval(() => {
            guard.renew(deliveryId, attemptNumber, claim.token).then(
              (held) => held || log.warn({ delivery_id: deliveryId, attempt: attemptNumber }, 'attempt lease lost while attempting'),
              (error: unknown) => log.warn({ err: error, delivery_id: deliveryId }, 'attempt lease not renewed'),
            );
          }, Math.max(10, Math.floor(this.deps.leaseMs / 3)));
          let value: T;
          try {
            value = await work();
          } catch (error) {
            clearInterval(renewal);
            await guard.release(deliveryId, attemptNumber, claim.token).catch(() => undefined);
            throw error;
          }
          clearInterval(renewal);
          if (!done(value)) {
            // If this fails the deferred job waits out the lease when it comes back (the lease is short).
            await guard.release(deliveryId, attemptNumber, claim.token).catch((error: unknown) => log.warn({ err: error, delivery_id: deliveryId }, 'deferred attempt not released'));
            return { ran: true, value };
          }
          // If this fails the lease simply runs out: a later copy may repeat the attempt (at-least-once).
          await guard.finish(deliveryId, attemptNumber).catch((error: unknown) => log.warn({ err: error, delivery_id: deliveryId }, 'attempt not marked done'));
          return { ran: true, value };
        }
        default: {
          const unknown: never = claim;
          throw new Error(`unknown claim ${JSON.stringify(unknown)}`);
        }
      }
    }
  }

  /**
   * Makes the attempt, ends the delivery without one, or defers it. Only I/O that can come back (Redis, the
   * projector, Kafka, RabbitMQ) is retried here; what can never work ends the delivery in decideBeforeAttempt.
   */
  private async attemptInSpan(job: DeliveryJob, retries: RetrySchedule = this.deps.retries): Promise<JobOutcome> {
    const { deps } = this;
    const opened = await this.payloadOf(job);
    if (opened.kind === 'gone') {
      // Past its retention or expunged: there is nothing left to send, and never will be. Cancelled, not
      // failed: neither the endpoint nor the request was at fault (docs/design-notes.md).
      const reason = payloadGoneReason(opened.why);
      deps.log.info({ delivery_id: job.delivery_id, subscription_id: job.subscription_id, reason }, 'delivery cancelled: its payload is gone');
      await this.record(decideCancel(job, reason, deps));
      return { kind: 'ended' };
    }
    const known = await this.persistently('look up subscription', () => deps.directory.find(job.subscription_id));
    const body = JSON.stringify(opened.payload);
    const startedAt = deps.now();
    const before = decideBeforeAttempt(job, known, { body, timestamp: startedAt }, { ...deps, openSecret: (sealed, context) => deps.secretBox.open(sealed, context) });
    if (before.kind === 'held') {
      await this.hold(job, before.heldAt, before.events, retries);
      return { kind: 'held' };
    }
    if (before.kind !== 'attempt') {
      if (before.kind === 'failed') deps.log.warn({ delivery_id: job.delivery_id, subscription_id: job.subscription_id, reason: before.reason }, 'delivery can never be attempted; failed');
      await this.record(before.events);
      return { kind: 'ended' };
    }
    const { subscription } = before;
    const health = await this.healthOf(subscription);
    if (health.record && circuitOf(health.record, deps.healthLimits) === 'open') {
      // A failing endpoint is probed: this attempt goes out only if it takes the probe slot.
      const heldForMs = await this.bestEffort('take probe', () => deps.health.takeProbe(subscription.id, deps.healthLimits.probeIntervalMs));
      if (heldForMs !== undefined && heldForMs > 0) {
        return this.defer(job, { kind: 'probing', reason: probingReason(health.record), delayMs: probeDeferralDelay(heldForMs, job.deferrals ?? 0, deps.healthLimits, deps.random) }, retries);
      }
    }
    // (a wait for the slot, at most HOOKPOST_ENDPOINT_WAIT_MS, or for the rate limit, at most
    // HOOKPOST_RATE_LIMIT_WAIT_MS, makes the signed timestamp and started_at that much older than the request:
    // well inside a receiver's tolerance of minutes)
    const endpointSlot = await this.endpointSlot(subscription.target_url);
    if (endpointSlot === 'none free') return this.defer(job, { kind: 'endpoint busy' }, retries);
    // The rate limit after the slot: a request slot of the limit, once taken, is used at its time, not after
    // a wait for the endpoint's share (a late request would crowd the next one, past the limit).
    const pacing = await this.paceToRateLimit(job, subscription);
    if (pacing.kind === 'defer') {
      endpointSlot?.release();
      return this.defer(job, pacing.cause, retries);
    }
    if (before.warning) deps.log.warn({ subscription_id: subscription.id, reason: before.warning }, 'signing with the current secret only');
    const headers = {
      // The endpoint's own headers first: nothing of them can replace the signature or the content type.
      ...(subscription.headers ?? {}),
      ...before.headers,
      'content-type': 'application/json',
      'user-agent': 'Hookpost/0.1 (+https://github.com/hookpost/hookpost)',
    };
    let response;
    try {
      response = await deps.endpoint.post(subscription.target_url, headers, body, subscription.timeout_ms ?? deps.defaultTimeoutMs);
    } finally {
      // The slot covers the request only: recording the outcome does not hold the endpoint's share.
      endpointSlot?.release();
    }
    deps.log.debug(
      { delivery_id: job.delivery_id, subscription_id: job.subscription_id, attempt: job.attempt_number, result: response.result },
      'attempt made',
    );
    const decision = decideAfterAttempt(job, subscription, { ...response, started_at: startedAt }, deps.policy, deps);
    const sustained = await this.healthAfter(subscription, decision, health);
    const operational = await this.operationalEventsOf(decision, subscription, job);
    const retry = decision.retry;
    if (retry) await this.persistently('schedule retry', () => retries.schedule(retry.job, retry.delayMs));
    // The operational events go with the outcome they report: both are recorded, or neither is.
    await this.record([...decision.events, ...operational]);
    const disable = decision.disable ?? sustained;
    if (disable) {
      await this.persistently('disable subscription', () => deps.writer.change(disable.subscription_id, (current) => decideDisable(current, disable, deps)));
    }
    return { kind: 'attempted', statusCode: response.result.kind === 'response' ? response.result.statusCode : undefined };
  }

  /**
   * Waits for the attempt's request slot under its endpoint's rate limit (or its application's default), or
   * says to defer it. No limit: at once, without asking Redis. The limiter unreachable (Redis down or not
   * answering): deferred, to ask again later, never sent unthrottled. A slot this process reached too late
   * (its event loop was held up) is left unused and another asked for, as the attempt's turn: sent late, it
   * would crowd the next request, perhaps another dispatcher's, past the limit. Never rejects.
   */
  private async paceToRateLimit(job: DeliveryJob, subscription: SubscriptionState): Promise<RatePacing> {
    const { deps } = this;
    let perSecond: number | undefined;
    try {
      // (the application is asked only for an endpoint without a limit of its own)
      perSecond = effectiveRateLimit(subscription.rate_limit, undefined) ?? effectiveRateLimit(undefined, await deps.applicationRateLimit(subscription.app_id ?? DEFAULT_APPLICATION_ID));
    } catch (error) {
      deps.log.warn({ err: error, subscription_id: subscription.id }, "the application's rate limit could not be read; attempt deferred");
      deps.paced?.('limiter unreachable', 0);
      return decideRatePacing({ kind: 'unreachable' }, { perSecond: 0, windowMs: 0 }, deps.random);
    }
    if (perSecond === undefined) return { kind: 'go', waitMs: 0 };
    const request = { perSecond, windowMs: rateWindowMs(perSecond, deps.rateWindow) };
    for (let queued = job.rate_limit_queued === true; ; queued = true) {
      const askedAt = deps.now().getTime();
      let pacing: RatePacing;
      try {
        pacing = decideRatePacing(await deps.rateLimiter.take(subscription.id, { ...request, queued }), request, deps.random);
      } catch (error) {
        deps.log.warn({ err: error, subscription_id: subscription.id }, 'rate limiter unreachable; attempt deferred');
        pacing = decideRatePacing({ kind: 'unreachable' }, request, deps.random);
      }
      switch (pacing.kind) {
        case 'defer':
          deps.paced?.(pacing.cause.kind === 'rate limited' ? 'deferred' : 'limiter unreachable', 0);
          return pacing;
        case 'go': {
          if (pacing.waitMs > 0) await sleep(pacing.waitMs);
          const lateMs = deps.now().getTime() - askedAt - pacing.waitMs;
          if (!tooLateForSlot(lateMs, perSecond)) {
            deps.paced?.(pacing.waitMs > 0 ? 'waited' : 'at once', pacing.waitMs);
            return pacing;
          }
          deps.paced?.('too late', lateMs);
          deps.log.debug({ delivery_id: job.delivery_id, subscription_id: subscription.id, late_ms: lateMs }, 'rate-limit slot reached too late; asking for another');
          break;
        }
        default: {
          const unknown: never = pacing;
          throw new Error(`unknown pacing ${JSON.stringify(unknown)}`);
        }
      }
    }
  }

  /**
   * The endpoint's record before an attempt (endpointHealth.ts). `known` says whether a record may exist, so a
   * success clears it only then: a healthy endpoint costs one read per attempt and nothing more. Best effort:
   * when Redis cannot answer, the attempt goes out (the record is a backoff, not a guarantee).
   */
  private async healthOf(subscription: SubscriptionState): Promise<{ record: EndpointHealth | undefined; known: boolean }> {
    const { healthLimits } = this.deps;
    if (healthLimits.probeAfterFailures <= 0 && healthLimits.disableAfterMs <= 0) return { record: undefined, known: true };
    const read = await this.bestEffort('read endpoint health', async () => ({ record: await this.deps.health.read(subscription.id, subscription.version) }));
    return read ? { record: read.record, known: true } : { record: undefined, known: false };
  }

  /** Counts the attempt in the endpoint's record; says to disable it when every attempt has failed for too long. */
  private async healthAfter(subscription: SubscriptionState, decision: Decision, before: { record: EndpointHealth | undefined; known: boolean }): Promise<DisableRequest | undefined> {
    const { deps } = this;
    if (deps.healthLimits.probeAfterFailures <= 0 && deps.healthLimits.disableAfterMs <= 0) return undefined;
    if (decision.events.some((event) => event.type === 'DeliverySucceeded')) {
      if (before.record || !before.known) await this.bestEffort('clear endpoint health', () => deps.health.succeeded(subscription.id));
      return undefined;
    }
    const now = deps.now();
    const after = await this.bestEffort('count failed attempt', () => deps.health.failed(subscription.id, subscription.version, now.getTime()));
    const sustained = after && decideSustainedFailure(after, deps.healthLimits, now);
    if (!sustained) return undefined;
    deps.log.warn({ subscription_id: subscription.id, failing_since: sustained.failingSince }, 'every attempt failed for too long; disabling the endpoint');
    return { subscription_id: subscription.id, cause: 'endpoint_failing', detail: sustained.detail, failing_since: sustained.failingSince };
  }

  /** The operational events (message.attempt.*) an attempt's outcome reports: usually none. */
  private async operationalEventsOf(decision: Decision, subscription: SubscriptionState, job: DeliveryJob): Promise<HookpostEvent[]> {
    const { operational } = this.deps;
    const facts = attemptFacts(decision.events, subscription, operational.failingAttempt);
    if (facts.length === 0 || !(await operational.anyAudience())) return [];
    const context = await operational.contextOf(subscription, job.message_id).catch(() => ({ appUid: null, msgEventId: null }));
    return attemptMessages(facts, subscription, context, this.deps);
  }

  /** Runs `step` once; a failure is logged and answers undefined (for what a delivery may do without). */
  private async bestEffort<T>(what: string, step: () => Promise<T>): Promise<T | undefined> {
    try {
      return await step();
    } catch (error) {
      this.deps.log.warn({ err: error, step: what }, 'step failed; going on without it');
      return undefined;
    }
  }

  /**
   * A message read from the read model for a redelivery, its payload sealed again into its bucket when it came
   * sealed (so the new delivery's job carries no clear payload and ends with its retention); a payload whose
   * bucket no longer opens counts as gone (null), as an expunged one does.
   */
  private async resealed(message: StoredMessage): Promise<StoredMessage & { payload_sealed?: string }> {
    if (message.payload === null || !message.payload_expires_at) return message;
    const bucket = { id: String(Date.parse(message.payload_expires_at)), expiresAt: new Date(message.payload_expires_at) };
    const payload = message.payload;
    const sealed = await this.persistently('seal payload', () => this.deps.payloads.sealInto(payload, payloadSubject('message', message.id), bucket));
    return sealed === undefined ? { ...message, payload: null } : { ...message, payload_sealed: sealed };
  }

  /** The job's payload: as it travels, or opened with its bucket's keys (asked again while the store cannot answer). */
  private payloadOf(job: Pick<DeliveryJob, 'payload' | 'payload_sealed' | 'payload_gone' | 'message_id' | 'delivery_id'>): Promise<OpenedPayload> {
    if (job.payload_gone !== undefined) return Promise.resolve({ kind: 'gone', why: job.payload_gone });
    const sealed = job.payload_sealed;
    if (sealed === undefined) return Promise.resolve({ kind: 'opened', payload: job.payload ?? {} });
    return this.persistently('open payload', () =>
      this.deps.payloads.open(sealed, payloadSubjectOf(job)).catch((error: unknown) => {
        // Altered or not a sealed payload: it will never open, so it is not retried.
        if (error instanceof SealedPayloadError) return { kind: 'gone', why: 'missing' } as const;
        throw error;
      }),
    );
  }

  /** A slot at the target's endpoint (undefined when it has none: the client refuses such a target itself). */
  private async endpointSlot(targetUrl: string): Promise<{ release: () => void } | undefined | 'none free'> {
    const endpoint = endpointOf(targetUrl);
    if (endpoint === undefined) return undefined;
    return (await this.deps.shares.take(endpoint)) ?? 'none free';
  }

  /**
   * Fans a message out: decides its deliveries from the application's endpoints, records them (MessageRouted)
   * before any is attempted, then makes each first attempt, a bounded number at once. Resolves when every
   * first attempt is made, deferred or ended, so the message's offset is committed only then: a crash before
   * that decides the fan-out again, with the same delivery ids (the attempt guard drops attempts made twice).
   */
  async fanOut(message: MessageCreated): Promise<void> {
    const { deps } = this;
    // (taken before anything is awaited: the consumer starts a partition's messages in the log's order)
    const ticket = this.laneOrder.enter(message.app_id);
    let left = false;
    const leave = (ok: boolean) => {
      if (left) return;
      left = true;
      ticket.leave(ok);
    };
    let jobs: DeliveryJob[];
    try {
      const endpoints = await this.persistently('list endpoints', () => deps.endpointsOf(message.app_id));
      // The filters read the payload; one gone already (expunged or expired before its fan-out) is routed as
      // empty, and each of its deliveries is cancelled at its first attempt, saying why.
      const opened = await this.payloadOf({ ...message, delivery_id: message.message_id });
      const payload = opened.kind === 'opened' ? opened.payload : {};
      const decided = decideFanOut({ ...message, payload }, endpoints, { ...deps, payloadFilters: this.payloadFilters });
      jobs = decided.jobs;
      const laned = decided.laned;
      // (a message with nothing for a lane lets the next one go at once; the one after still waits for the one before)
      if (laned.length === 0) leave(true);
      await this.record([decided.event]);
      const filtered = decided.event.data.filtered;
      if (filtered) deps.log.debug({ message_id: message.message_id, filtered: filtered.map((entry) => entry.subscription_id), omitted: decided.event.data.filtered_omitted }, 'payload filters kept the message from endpoints');
      const scheduledInMs = message.deliver_at ? Date.parse(message.deliver_at) - deps.now().getTime() : 0;
      let lanedJobs = laned;
      if (scheduledInMs > 0) {
        // deliverAt: every first attempt is deferred to then and recorded (so the read model says when, and the
        // reconciler restores one RabbitMQ loses); the unordered ones wait in the retry queue, a lane's head
        // waits in its lane (which reads the time recorded), holding its endpoint's later messages behind it.
        // A redelivered message schedules the same deliveries again; the attempt guard makes one attempt of each.
        const at = message.deliver_at!;
        const deferral = (job: DeliveryJob) => decideDeferral(job, deps, { kind: 'scheduled', at, delayMs: scheduledInMs });
        const waiting = jobs.map(deferral);
        // (one append for the whole fan-out, recorded before any is handed to the retry queue)
        await this.record([...laned.map(deferral), ...waiting].flatMap((scheduled) => scheduled.events));
        for (const scheduled of waiting) await this.persistently('defer attempt', () => deps.retries.schedule(scheduled.job, scheduled.delayMs));
        // (the lane's job carries the time too: its first read of the head may come before the record is projected)
        lanedJobs = laned.map((job) => ({ ...job, not_before: at }));
        jobs = [];
      }
      if (laned.length > 0) {
        // Recorded before it is put in a lane (so the lane finds the delivery in the read model), and put in
        // only after the message before it: a lane holds its endpoint's deliveries in the log's order.
        await ticket.turn();
        await this.persistently('put in lane', () => deps.lanes.enqueue(lanedJobs));
        leave(true);
      }
    } catch (error) {
      leave(false);
      throw error;
    }
    await this.firstAttempts(jobs);
  }

  /**
   * One attempt of a lane's head (lane/laneWorker.ts), made as any other (the attempt guard, the endpoint's
   * share, rate limit and circuit, the hold of a paused endpoint, the outcome and its operational events
   * recorded) except that nothing is scheduled in the retry queues: a retry or deferral is recorded with its
   * time, and the lane, which keeps the head, makes it when due.
   */
  async attemptInLane(job: DeliveryJob): Promise<LaneAttemptOutcome> {
    let goesOn = false;
    const lane: RetrySchedule = {
      schedule: async () => {
        goesOn = true;
      },
    };
    const attempted = await this.claimed(job, 'wait', () => this.attemptInSpan(job, lane), (outcome) => !stillToMake(outcome));
    if (!attempted.ran) return 'goes on';
    switch (attempted.value.kind) {
      case 'attempted':
      case 'ended':
        return goesOn ? 'goes on' : 'ended';
      case 'deferred':
      case 'held':
        return 'goes on';
      default: {
        const unknown: never = attempted.value;
        throw new Error(`unknown job outcome ${JSON.stringify(unknown)}`);
      }
    }
  }

  /**
   * A lane's head ended by an operator's skip: cancelled in place of the attempt `job` would have been. The
   * cancel claims that attempt (as cancelRetries does), so no copy of it is made after; an attempt of it under
   * way elsewhere (a dispatcher that crashed mid-request) is waited for, and then the lane reads it again.
   */
  async cancelInLane(job: DeliveryJob, reason: string): Promise<void> {
    const outcome = await this.claimed(job, 'wait', () => this.record(decideCancel(job, reason, this.deps)));
    if (!outcome.ran) this.deps.skipped?.('cancel not needed');
  }

  /** A lane's held head released once its endpoint was resumed (recorded only: the lane makes the attempt). */
  async releaseInLane(job: DeliveryJob, heldAt: string): Promise<void> {
    await this.record(decideRelease(job, heldAt, this.deps).events);
    this.deps.released?.(1);
  }

  /** The endpoint as the log knows it, as of every write acknowledged before the call (a lane's held head). */
  endpointNow(subscriptionId: string): Promise<{ deleted?: boolean; paused?: boolean } | undefined> {
    return this.persistently('read the endpoint', () => this.deps.directory.fromReadModel(subscriptionId)) as Promise<{ deleted?: boolean; paused?: boolean } | undefined>;
  }

  /**
   * Each job's first attempt, a bounded number at once. When one fails (the service is stopping) no further
   * job is started, but the ones under way are waited for before the failure is passed on: the caller's
   * message must not be let go (and the service stop) while an attempt that was made is still being recorded,
   * or its claim would be given back and the attempt made again after the restart.
   */
  private async firstAttempts(jobs: readonly DeliveryJob[]): Promise<void> {
    let next = 0;
    let failed = false;
    const worker = async () => {
      while (next < jobs.length && !failed) {
        try {
          await this.attempt(jobs[next++]!);
        } catch (error) {
          failed = true;
          throw error;
        }
      }
    };
    const settled = await Promise.allSettled(Array.from({ length: Math.min(this.deps.fanOutConcurrency, jobs.length) }, worker));
    const failure = settled.find((result): result is PromiseRejectedResult => result.status === 'rejected');
    if (failure) throw failure.reason;
  }

  /**
   * Carries out a resend: a new delivery of the message to its endpoint, recorded (MessageRouted, manual)
   * before it is attempted. An endpoint deleted or disabled since is left alone; so is a message expunged
   * since. (Recover, replay-missing and replay from the log are background tasks: backgroundTasks.ts.)
   */
  async resend(request: RedeliveryRequested): Promise<void> {
    const { deps } = this;
    const endpoint = await this.liveEndpoint(request);
    if (!endpoint) {
      deps.log.info({ request_id: request.request_id, subscription_id: request.subscription_id }, 'resend skipped: the endpoint is gone or disabled');
      return;
    }
    const message = request.message_id ? await this.persistently('read message', () => deps.messageById(request.message_id!)) : undefined;
    if (message) await this.redeliverMessages(request, endpoint, [message]);
  }

  /** The request's endpoint if it is live and enabled, from the application's endpoints as of every write before. */
  async liveEndpoint(request: Pick<RedeliveryRequested, 'app_id' | 'subscription_id'>): Promise<SubscriptionState | undefined> {
    const endpoints = await this.persistently('list endpoints', () => this.deps.endpointsOf(request.app_id));
    return endpoints.find((candidate) => candidate.id === request.subscription_id && candidate.is_active);
  }

  /**
   * New deliveries of `messages` to `endpoint` for a redelivery request, recorded (MessageRouted, manual) before
   * their first attempts are made, a bounded number at once. Resolves with how many deliveries were made
   * (expunged messages have none) once every first attempt is made, deferred, held or ended.
   */
  async redeliverMessages(request: RedeliveryRequested, endpoint: SubscriptionState, messages: readonly StoredMessage[]): Promise<number> {
    // A message the endpoint does not take (its event types, channels or payload filter, as the fan-out decides)
    // is not one it missed: replay-missing leaves it out. (Resend and recover send what was asked for; a replay
    // from the log, what its own filter says.)
    const missed = request.kind === 'replay_missing' ? messages.filter((message) => message.payload === null || whyEndpointSkips(endpoint, message, this.payloadFilters) === undefined) : messages;
    // (a payload that came sealed is sealed again into its bucket: the new delivery's job carries none in clear)
    const { events, jobs } = decideRedelivery(request, endpoint, await Promise.all(missed.map((message) => this.resealed(message))), this.deps);
    if (events.length === 0) return 0;
    await this.record(events);
    await this.firstAttempts(jobs);
    return jobs.length;
  }

  /**
   * Holds an attempt of a paused endpoint: records the hold, then looks at the endpoint again as of every write
   * acknowledged before that look. A resume handled meanwhile may have listed the held deliveries before this
   * hold was in the read model (and so left it out); if so this look comes after the resume and sees the
   * endpoint no longer paused, and the hold is released here. (If the resume's list came after the hold, it
   * has it; both releasing is harmless: the attempt guard makes the attempt once.)
   */
  private async hold(job: DeliveryJob, heldAt: string, events: HookpostEvent[], retries: RetrySchedule): Promise<void> {
    await this.record(events);
    const now = await this.persistently('read the endpoint again', () => this.deps.directory.fromReadModel(job.subscription_id));
    if (stillPaused(now as { deleted?: boolean; paused?: boolean } | undefined)) {
      this.deps.log.debug({ delivery_id: job.delivery_id, attempt: job.attempt_number }, 'endpoint paused; attempt held');
      return;
    }
    await this.release(job, heldAt, retries);
    this.deps.released?.(1);
  }

  /** Ends a hold: recorded first (the read model then shows the attempt due at once), then scheduled now. */
  private async release(job: DeliveryJob, heldAt: string, retries: RetrySchedule = this.deps.retries): Promise<void> {
    const released = decideRelease(job, heldAt, this.deps);
    await this.record(released.events);
    await this.persistently('schedule released attempt', () => retries.schedule(released.job, 0));
  }

  /**
   * A resumed endpoint's held deliveries, released: each recorded and scheduled at once, a bounded number at
   * a time. `held` must list every hold recorded before it was asked (the projector fences on every topic).
   * Nothing is released if the endpoint is paused again (or deleted) by now: its holds stand, and the next
   * resume releases them. Resolves with the number released.
   */
  async releaseHeld(subscriptionId: string, held: AsyncIterable<HeldDelivery>): Promise<number> {
    const { deps } = this;
    const now = await this.persistently('read the endpoint', () => deps.directory.fromReadModel(subscriptionId));
    if (stillPaused(now as { deleted?: boolean; paused?: boolean } | undefined) || now === undefined || ('deleted' in now && now.deleted === true)) return 0;
    let released = 0;
    const inFlight = new Set<Promise<void>>();
    for await (const row of held) {
      const read = jobForHeldDelivery(row, deps.now());
      if (!read.ok) {
        deps.log.error({ delivery_id: row.id, reason: read.reason }, 'held delivery in the read model is not a job; left held');
        continue;
      }
      const releasing = this.release(read.job, row.held_at).then(() => {
        released += 1;
      });
      inFlight.add(releasing);
      void releasing.finally(() => inFlight.delete(releasing)).catch(() => undefined);
      if (inFlight.size >= deps.fanOutConcurrency) await Promise.race(inFlight);
    }
    await Promise.all(inFlight);
    if (released > 0) deps.released?.(released);
    return released;
  }

  /**
   * Hands the attempt back to the retry queue, same attempt number, to come back after a short delay (that
   * grows with each deferral for a busy endpoint or one being probed; at its turn for a rate limit), and records the deferral (no
   * attempt: only the next attempt time moves). The caller then finishes its message (the Kafka offset moves
   * on, or the RabbitMQ message is acknowledged), so the consumer slot is free. Recorded first: if scheduling then never succeeds (the dispatcher stops), the
   * message comes back; if it does and RabbitMQ later loses the job, the reconciler finds it in the log.
   */
  private async defer(job: DeliveryJob, cause: DeferralCause, retries: RetrySchedule): Promise<JobOutcome> {
    const { deps } = this;
    const deferral = decideDeferral(job, deps, cause);
    await this.record(deferral.events);
    await this.persistently('defer attempt', () => retries.schedule(deferral.job, deferral.delayMs));
    deps.log.debug({ delivery_id: job.delivery_id, attempt: job.attempt_number, deferrals: deferral.job.deferrals, delay_ms: deferral.delayMs, cause: cause.kind }, 'attempt deferred');
    return { kind: 'deferred', delayMs: deferral.delayMs };
  }

  /**
   * A deleted subscription's waiting retries end now rather than when each comes due (hours, with the
   * default schedule). A retry that was not yet in the read model is cancelled when it comes due instead.
   * The cancel claims the attempt it replaces, so when that retry's job comes due it finds the attempt done
   * and records nothing: DeliveryCancelled is recorded once. An attempt already made or being made is left
   * to its own outcome (a retry it schedules is cancelled when due).
   */
  async cancelRetries(subscriptionId: string, waiting: AsyncIterable<RetryingDelivery>): Promise<number> {
    let cancelled = 0;
    for await (const delivery of waiting) {
      const job: DeliveryJob = {
        delivery_id: delivery.id,
        subscription_id: subscriptionId,
        event_type: delivery.event_type,
        payload: {},
        received_at: delivery.created_at,
        attempt_number: delivery.attempt_count + 1,
        last_status_code: delivery.last_status_code,
        last_error: delivery.last_error,
      };
      const outcome = await this.claimed(job, 'skip', () => this.record(decideCancel(job, 'subscription deleted', this.deps)));
      if (outcome.ran) cancelled += 1;
      else this.deps.skipped?.('cancel not needed');
    }
    return cancelled;
  }

  private record(events: HookpostEvent[]): Promise<void> {
    const records: EventRecord[] = events.map((event) => ({ ...topicFor(this.topics, event), event }));
    // Bounded like every internal call: an append Kafka never answers fails here and is tried again, loudly.
    return this.persistently('record attempt', () => this.deps.eventLog.append(records, { timeoutMs: RECORD_TIMEOUT_MS })).then(() => this.deps.observe?.(events));
  }

  /** Retries `step` with backoff until it succeeds or the service is stopping (then the message comes back). */
  private persistently<T>(what: string, step: () => Promise<T>): Promise<T> {
    return persistently(what, step, this.deps);
  }
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
