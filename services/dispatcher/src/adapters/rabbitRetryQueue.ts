import { randomUUID } from 'node:crypto';
import amqp, { type ConfirmChannel, type ConsumeMessage } from 'amqplib';
import { within, type Logger } from '@hookpost/platform';
import { readDeliveryJob, type DeliveryJob } from '../delivery/deliveryJob';

const ATTEMPT_HEADER = 'x-hookpost-attempt';
const DEFERRALS_HEADER = 'x-hookpost-deferrals';
const RATE_QUEUED_HEADER = 'x-hookpost-rate-limit-queued';
const DUE_AT_HEADER = 'x-hookpost-due-at';
const SMALLEST_TIER_MS = 50;
/**
 * How long RabbitMQ may take to confirm a publish or a declaration. Past it the caller hears an error and
 * tries again later (a publish confirmed after all leaves a second copy, which the attempt guard drops),
 * instead of waiting on a broker that stopped answering until its heartbeat notices (minutes).
 */
const BROKER_ANSWER_MS = 10_000;
/** How often the exchange and the ready queue's consumer are checked (watchConsumer). */
const CONSUMER_CHECK_MS = 5_000;

/**
 * The delay tiers: every distinct delay of the schedule, plus a ladder of 50 ms × 2^k up to `longestMs`. A
 * delay that is not a tier (jitter, Retry-After) hops through the largest tiers that fit: the ready consumer
 * sends a message that is not yet due back to the tier for what remains. Early by less than 50 ms at most.
 */
export function retryTiers(scheduleMs: readonly number[], longestMs: number): number[] {
  const tiers = new Set(scheduleMs.filter((ms) => ms >= SMALLEST_TIER_MS));
  for (let ms = SMALLEST_TIER_MS; ms <= longestMs; ms *= 2) tiers.add(ms);
  return [...tiers].sort((a, b) => a - b);
}

/** The largest tier not longer than `remainingMs`, or undefined when the message is due now. */
export function tierFor(tiers: readonly number[], remainingMs: number): number | undefined {
  let chosen: number | undefined;
  for (const tier of tiers) if (tier <= remainingMs) chosen = tier;
  return chosen;
}

type AmqpConnection = Awaited<ReturnType<typeof amqp.connect>>;

/**
 * How much each retry queue (the ready queue and every tier) may hold. A full queue refuses the publish
 * (`x-overflow: reject-publish`, never `drop-head`): the publish fails with RetryQueueFull and its caller
 * tries again later, holding the message it is working on, so a full queue is back-pressure and never a
 * lost retry. A tier that cannot dead-letter into a full ready queue keeps the message (at-least-once).
 */
export type RetryQueueLimits = { maxMessages: number; maxBytes: number };
export const defaultRetryQueueLimits: RetryQueueLimits = { maxMessages: 1_000_000, maxBytes: 1_073_741_824 };

/** RabbitMQ refused a retry: the queue is at its limit (or the broker could not take it). Publish again later. */
export class RetryQueueFull extends Error {
  constructor(queue: string) {
    super(`RabbitMQ refused the retry for ${queue} (queue at its length limit, or the broker could not take it); publish again later`);
    this.name = 'RetryQueueFull';
  }
}

/** A message from the ready queue that is not a job this dispatcher can read, and why. */
export type UnreadableRetry = { queue: string; content: Buffer; headers: Record<string, unknown>; reason: string };
type Consumer = {
  prefetch: number;
  handle: (job: DeliveryJob) => Promise<void>;
  /** Keeps an unreadable message somewhere durable; it is acknowledged only after this resolves. */
  park: (unreadable: UnreadableRetry) => Promise<void>;
};

/**
 * Retries through RabbitMQ without the delayed-message plugin: one quorum queue per delay tier with a
 * queue-level TTL and no consumers, dead-lettering at-least-once into one ready queue that the dispatchers
 * consume. Attempt numbers travel in our own header, never in x-death.
 *
 * RabbitMQ is only the timer: the log holds every retry, and the reconciler re-schedules what RabbitMQ
 * loses. So this adapter's job on trouble is to come back with its topology in place: a closed channel
 * (RabbitMQ closes it on an error such as publishing to a deleted exchange) or a consumer RabbitMQ cancelled
 * (its queue was deleted) reconnects and re-declares everything; a publish that found no queue (published
 * mandatory, so RabbitMQ returns it instead of dropping it) fails, re-declares, and is tried again by its
 * caller.
 */
export class RabbitRetryQueue {
  private connection: AmqpConnection | undefined;
  private channel: ConfirmChannel | undefined;
  private consumerTag: string | undefined;
  private consumer: Consumer | undefined;
  private readonly inFlight = new Set<Promise<void>>();
  /** Message ids RabbitMQ returned as unroutable; the confirm that follows each rejects its publish. */
  private readonly returned = new Set<string>();
  private declaring: Promise<void> | undefined;
  private closing = false;
  private watchdog: NodeJS.Timeout | undefined;
  /** When the consumer last got a message (or started): the watchdog's measure of a consumer gone quiet. */
  private lastDeliveryAt = Date.now();
  private reconnecting: Promise<void> | undefined;

  /** Queues found declared without our limits (warned about once). */
  private readonly unbounded = new Set<string>();

  private constructor(
    private readonly url: string,
    private readonly names: { exchange: string; ready: string; tier: (ms: number) => string },
    readonly tiers: readonly number[],
    private readonly limits: RetryQueueLimits,
    private readonly log: Logger,
  ) {}

  static async connect(options: { url: string; prefix: string; tiers: readonly number[]; limits?: RetryQueueLimits; log: Logger }): Promise<RabbitRetryQueue> {
    const names = {
      exchange: `${options.prefix}hookpost.retry`,
      ready: `${options.prefix}hookpost.retry.ready`,
      tier: (ms: number) => `${options.prefix}hookpost.retry.tier.${ms}ms`,
    };
    const queue = new RabbitRetryQueue(options.url, names, options.tiers, options.limits ?? defaultRetryQueueLimits, options.log);
    await queue.open();
    return queue;
  }

  /** True while connected to RabbitMQ (readiness). */
  get connected(): boolean {
    return this.channel !== undefined;
  }

  /** Connects, declares the topology (idempotent) and, after a reconnect, consumes again. */
  private async open(): Promise<void> {
    const connection = await amqp.connect(this.url);
    let channel: ConfirmChannel;
    try {
      await this.declare(connection);
      channel = await connection.createConfirmChannel();
    } catch (error) {
      await connection.close().catch(() => undefined);
      throw error;
    }
    if (this.closing) {
      // close() ran while this reconnect was under way: leave nothing open behind it.
      await connection.close().catch(() => undefined);
      return;
    }
    connection.on('error', (error) => this.log.warn({ err: error }, 'rabbitmq connection error'));
    connection.on('close', () => {
      if (this.connection === connection) this.lost();
    });
    // Without an 'error' listener a channel closed by the server would throw out of amqplib's frame handler.
    channel.on('error', (error) => this.log.warn({ err: error }, 'rabbitmq channel error'));
    channel.on('close', () => {
      if (this.channel === channel) this.restart('channel closed');
    });
    channel.on('return', (message: ConsumeMessage) => {
      const id = message.properties.messageId as string | undefined;
      if (id) this.returned.add(id);
    });
    this.connection = connection;
    this.channel = channel;
    if (this.consumer) await this.startConsuming();
  }

  /**
   * The exchange, the ready queue, its binding and every tier queue; asserting what exists changes nothing.
   * Declared on a channel of their own: RabbitMQ closes the channel that declares a queue with arguments other
   * than the existing queue's, which on the publishing channel would mean a reconnect loop.
   */
  private async declare(connection: AmqpConnection): Promise<void> {
    const { names, limits } = this;
    const bounded = { 'x-max-length': limits.maxMessages, 'x-max-length-bytes': limits.maxBytes, 'x-overflow': 'reject-publish' };
    let channel = await this.declaringChannel(connection);
    try {
      await channel.assertExchange(names.exchange, 'direct', { durable: true });
      const queues: [string, Record<string, unknown>][] = [
        [names.ready, { 'x-queue-type': 'quorum', ...bounded }],
        ...this.tiers.map((ms): [string, Record<string, unknown>] => [
          names.tier(ms),
          {
            'x-queue-type': 'quorum',
            'x-message-ttl': ms,
            'x-dead-letter-exchange': names.exchange,
            'x-dead-letter-routing-key': 'ready',
            // At-least-once: a message that the (full) ready queue refuses stays in its tier until it fits.
            'x-dead-letter-strategy': 'at-least-once',
            ...bounded,
          },
        ]),
      ];
      for (const [queue, args] of queues) {
        try {
          await channel.assertQueue(queue, { durable: true, arguments: args });
        } catch (error) {
          if ((error as { code?: number }).code !== 406) throw error;
          // Declared earlier with other arguments (before queue limits existed): it keeps working as it is.
          // Its arguments cannot change in place; docs/design-notes.md says how to recreate it with limits.
          channel = await this.declaringChannel(connection);
          await channel.checkQueue(queue);
          if (!this.unbounded.has(queue)) {
            this.unbounded.add(queue);
            this.log.warn({ queue }, 'rabbitmq: retry queue exists with other arguments (declared by an older version); it has no length limit until recreated');
          }
        }
      }
      await channel.bindQueue(names.ready, names.exchange, 'ready');
    } finally {
      await channel.close().catch(() => undefined);
    }
  }

  private async declaringChannel(connection: AmqpConnection) {
    const channel = await connection.createChannel();
    // A channel RabbitMQ closes emits 'error'; unheard, it would be thrown from amqplib's frame handler.
    channel.on('error', () => undefined);
    return channel;
  }

  /**
   * Declares the topology again on the open channel, so queues deleted behind our back come back (the
   * reconciler calls this every round). Concurrent callers share one declaration.
   */
  ensureTopology(): Promise<void> {
    const connection = this.connection;
    if (!connection) return Promise.reject(new Error('not connected to RabbitMQ'));
    this.declaring ??= within(BROKER_ANSWER_MS, this.declare(connection), 'RabbitMQ declared no retry topology').finally(() => {
      this.declaring = undefined;
    });
    return this.declaring;
  }

  /** Something broke the channel or its consumer: drop this connection and come back with a fresh one. */
  private restart(reason: string): void {
    const connection = this.connection;
    if (!connection || this.closing) return;
    this.log.warn({ reason }, 'rabbitmq: reconnecting to restore the retry topology');
    this.lost();
    void connection.close().catch(() => undefined);
  }

  /** The connection went away: keep trying to come back, with backoff, until closed on purpose. */
  private lost(): void {
    this.channel = undefined;
    this.connection = undefined;
    this.consumerTag = undefined;
    this.returned.clear();
    if (this.closing || this.reconnecting) return;
    this.log.warn('rabbitmq connection lost; reconnecting');
    this.reconnecting = (async () => {
      for (let wait = 250; !this.closing; wait = Math.min(wait * 2, 5_000)) {
        await new Promise((resolve) => setTimeout(resolve, wait));
        try {
          await this.open();
          this.log.info('rabbitmq reconnected');
          return;
        } catch (error) {
          this.log.warn({ err: error }, 'rabbitmq reconnect failed');
        }
      }
    })().finally(() => {
      this.reconnecting = undefined;
    });
  }

  /** Schedules `job` to come back through the ready queue after `delayMs`; resolves once RabbitMQ confirmed. */
  schedule(job: DeliveryJob, delayMs: number, now: Date = new Date()): Promise<void> {
    return this.publish(job, now.getTime() + delayMs, delayMs);
  }

  private publish(job: DeliveryJob, dueAt: number, remainingMs: number): Promise<void> {
    const channel = this.channel;
    if (!channel) return Promise.reject(new Error('not connected to RabbitMQ'));
    const tier = tierFor(this.tiers, remainingMs);
    const { attempt_number, deferrals, rate_limit_queued, ...rest } = job;
    const content = Buffer.from(JSON.stringify(rest));
    const messageId = randomUUID();
    const options = {
      persistent: true,
      // Unroutable (its queue was deleted) comes back as a return instead of being dropped, and fails below.
      mandatory: true,
      messageId,
      contentType: 'application/json',
      headers: {
        [ATTEMPT_HEADER]: attempt_number,
        [DUE_AT_HEADER]: dueAt,
        ...(deferrals === undefined ? {} : { [DEFERRALS_HEADER]: deferrals }),
        ...(rate_limit_queued === undefined ? {} : { [RATE_QUEUED_HEADER]: rate_limit_queued }),
      },
    };
    const target = tier === undefined ? this.names.ready : this.names.tier(tier);
    const confirmed = new Promise<void>((resolve, reject) => {
      // RabbitMQ sends a mandatory message's return before its confirm, so the return is known here.
      const callback = (error: unknown) => {
        // A nack is RabbitMQ refusing the message; with reject-publish, that is a full queue. (amqplib also
        // fails every unconfirmed publish with "channel closed" when the channel goes.)
        if (error) return reject(error instanceof Error && error.message === 'message nacked' ? new RetryQueueFull(target) : error);
        if (!this.returned.delete(messageId)) return resolve();
        void this.ensureTopology().catch((declareError: unknown) => this.log.warn({ err: declareError }, 'rabbitmq: re-declaring the retry topology failed'));
        reject(new Error(`no queue took the retry (${target} missing); topology re-declared, publish again`));
      };
      if (tier === undefined) channel.publish(this.names.exchange, 'ready', content, options, callback);
      else channel.publish('', target, content, options, callback);
    });
    return within(BROKER_ANSWER_MS, confirmed, 'RabbitMQ confirmed no retry publish');
  }

  /**
   * Consumes due jobs, `prefetch` at a time. A job not yet due goes back to a tier; a handler failure puts
   * the message back on the ready queue after a pause, so nothing is dropped. A message that is not a valid
   * job is handed to `park` and acknowledged once parked: never dropped, never retried forever.
   */
  async consume(prefetch: number, handle: Consumer['handle'], park: Consumer['park']): Promise<void> {
    this.consumer = { prefetch, handle, park };
    await this.startConsuming();
  }

  private async startConsuming(): Promise<void> {
    const channel = this.channel;
    const consumer = this.consumer;
    if (!channel || !consumer) return;
    await channel.prefetch(consumer.prefetch);
    this.lastDeliveryAt = Date.now();
    const reply = await channel.consume(this.names.ready, (message) => {
      this.lastDeliveryAt = Date.now();
      if (!message) {
        // RabbitMQ cancelled the consumer: the ready queue was deleted. Come back with it re-declared.
        if (this.channel === channel) this.restart('retry consumer cancelled by RabbitMQ');
        return;
      }
      const work = this.onMessage(channel, message, consumer);
      this.inFlight.add(work);
      void work.finally(() => this.inFlight.delete(work));
    });
    this.consumerTag = reply.consumerTag;
    this.watchConsumer();
  }

  /** Acks and nacks go to the channel the message came on; if that channel died, RabbitMQ redelivers it. */
  private async onMessage(channel: ConfirmChannel, message: ConsumeMessage, consumer: Consumer): Promise<void> {
    const headers = (message.properties.headers ?? {}) as Record<string, unknown>;
    const read = readDeliveryJob(message.content, headers[ATTEMPT_HEADER], headers[DEFERRALS_HEADER], headers[RATE_QUEUED_HEADER]);
    if (!read.ok) {
      try {
        await consumer.park({ queue: this.names.ready, content: message.content, headers, reason: read.reason });
        this.log.error({ queue: this.names.ready, reason: read.reason }, 'unreadable retry message parked');
        safely(() => channel.ack(message));
      } catch (error) {
        this.log.warn({ err: error }, 'unreadable retry message not parked yet; requeueing');
        await new Promise((resolve) => setTimeout(resolve, 1_000));
        safely(() => channel.nack(message, false, true));
      }
      return;
    }
    const job = read.job;
    const handle = consumer.handle;
    try {
      const dueAt = Number(headers[DUE_AT_HEADER]);
      const remaining = Number.isFinite(dueAt) ? dueAt - Date.now() : 0;
      if (tierFor(this.tiers, remaining) !== undefined) await this.publish(job, dueAt, remaining);
      else await handle(job);
      safely(() => channel.ack(message));
    } catch (error) {
      this.log.warn({ err: error, delivery_id: job.delivery_id }, 'retry not handled; requeueing');
      await new Promise((resolve) => setTimeout(resolve, 1_000));
      safely(() => channel.nack(message, false, true));
    }
  }

  /**
   * Every few seconds: checks that the exchange exists and that the ready queue still has a consumer. Queues
   * and the exchange deleted under a running dispatcher can leave a partial topology that publishing does not
   * notice: tier queues re-declared by a publish that found one missing take every publish while the exchange
   * they dead-letter into is gone. A missing exchange fails the check, which closes the channel; the
   * reconnect declares the whole topology again. A consumer whose queue was deleted is cancelled by RabbitMQ, but no consumer at
   * all (not ours, not another dispatcher's) also means ours is gone, and so do due jobs waiting while this
   * consumer, idle, receives none: reconnect (RabbitMQ requeues what the old channel held) and consume again.
   */
  private watchConsumer(): void {
    if (this.watchdog) return;
    this.watchdog = setInterval(() => {
      const channel = this.channel;
      if (!channel || !this.consumer || this.closing || this.reconnecting) return;
      // (a missing exchange fails its check and closes the channel: the reconnect declares everything again)
      within(BROKER_ANSWER_MS, channel.checkExchange(this.names.exchange), 'RabbitMQ answered no exchange check')
        .then(() => within(BROKER_ANSWER_MS, channel.checkQueue(this.names.ready), 'RabbitMQ answered no queue check'))
        .then(({ consumerCount, messageCount }) => {
          if (this.channel !== channel) return;
          if (consumerCount === 0) return this.restart('the ready queue has no consumer');
          // Due jobs wait, this consumer has room and nothing in hand, yet nothing came for a while: RabbitMQ
          // counts a consumer that no longer receives (seen after the queue was deleted and declared again).
          const quiet = Date.now() - this.lastDeliveryAt > 2 * CONSUMER_CHECK_MS;
          if (messageCount > 0 && this.inFlight.size === 0 && quiet) this.restart('due jobs wait in the ready queue and none arrives');
        })
        .catch((error: unknown) => this.log.warn({ err: error }, 'rabbitmq: retry topology check failed'));
    }, CONSUMER_CHECK_MS);
    this.watchdog.unref();
  }

  /** Messages in the ready queue (for metrics), or undefined when disconnected. */
  async readyDepth(): Promise<number | undefined> {
    const channel = this.channel;
    if (!channel) return undefined;
    return (await channel.checkQueue(this.names.ready)).messageCount;
  }

  async close(): Promise<void> {
    this.closing = true;
    clearInterval(this.watchdog);
    const channel = this.channel;
    if (channel && this.consumerTag) await channel.cancel(this.consumerTag).catch(() => undefined);
    await Promise.allSettled([...this.inFlight]);
    await channel?.close().catch(() => undefined);
    await this.connection?.close().catch(() => undefined);
  }

  /** Test and operator helper: stops consuming, then deletes this prefix's queues and exchange. */
  async deleteAll(): Promise<void> {
    const channel = this.channel;
    if (!channel) throw new Error('not connected to RabbitMQ');
    // Deleting the ready queue under our own consumer would look like someone else did it (and reconnect).
    this.consumer = undefined;
    if (this.consumerTag) await channel.cancel(this.consumerTag);
    this.consumerTag = undefined;
    for (const ms of this.tiers) await channel.deleteQueue(this.names.tier(ms));
    await channel.deleteQueue(this.names.ready);
    await channel.deleteExchange(this.names.exchange);
  }
}

/** An ack on a channel that has since closed throws; the broker redelivers that message anyway. */
function safely(action: () => void): void {
  try {
    action();
  } catch {
    // the channel is gone; RabbitMQ requeues unacknowledged messages
  }
}
