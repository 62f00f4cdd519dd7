import amqp, { type ConfirmChannel, type ConsumeMessage } from 'amqplib';
import type { Logger } from '@hookpost/platform';
import type { DeliveryJob } from '../delivery/deliveryJob';

const ATTEMPT_HEADER = 'x-hookpost-attempt';
const DUE_AT_HEADER = 'x-hookpost-due-at';
const SMALLEST_TIER_MS = 50;

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
 * Retries through RabbitMQ without the delayed-message plugin: one quorum queue per delay tier with a
 * queue-level TTL and no consumers, dead-lettering at-least-once into one ready queue that the dispatchers
 * consume. Attempt numbers travel in our own header, never in x-death.
 */
export class RabbitRetryQueue {
  private connection: AmqpConnection | undefined;
  private channel: ConfirmChannel | undefined;
  private consumerTag: string | undefined;
  private consumer: { prefetch: number; handle: (job: DeliveryJob) => Promise<void> } | undefined;
  private readonly inFlight = new Set<Promise<void>>();
  private closing = false;
  private reconnecting: Promise<void> | undefined;

  private constructor(
    private readonly url: string,
    private readonly names: { exchange: string; ready: string; tier: (ms: number) => string },
    readonly tiers: readonly number[],
    private readonly log: Logger,
  ) {}

  static async connect(options: { url: string; prefix: string; tiers: readonly number[]; log: Logger }): Promise<RabbitRetryQueue> {
    const names = {
      exchange: `${options.prefix}hookpost.retry`,
      ready: `${options.prefix}hookpost.retry.ready`,
      tier: (ms: number) => `${options.prefix}hookpost.retry.tier.${ms}ms`,
    };
    const queue = new RabbitRetryQueue(options.url, names, options.tiers, options.log);
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
    const channel = await connection.createConfirmChannel();
    const { names } = this;
    await channel.assertExchange(names.exchange, 'direct', { durable: true });
    await channel.assertQueue(names.ready, { durable: true, arguments: { 'x-queue-type': 'quorum' } });
    await channel.bindQueue(names.ready, names.exchange, 'ready');
    for (const ms of this.tiers) {
      await channel.assertQueue(names.tier(ms), {
        durable: true,
        arguments: {
          'x-queue-type': 'quorum',
          'x-message-ttl': ms,
          'x-dead-letter-exchange': names.exchange,
          'x-dead-letter-routing-key': 'ready',
          'x-dead-letter-strategy': 'at-least-once',
          'x-overflow': 'reject-publish',
        },
      });
    }
    connection.on('error', (error) => this.log.warn({ err: error }, 'rabbitmq connection error'));
    connection.on('close', () => this.lost());
    this.connection = connection;
    this.channel = channel;
    if (this.consumer) await this.startConsuming();
  }

  /** The connection went away: keep trying to come back, with backoff, until closed on purpose. */
  private lost(): void {
    this.channel = undefined;
    this.connection = undefined;
    this.consumerTag = undefined;
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
    const { attempt_number, ...rest } = job;
    const content = Buffer.from(JSON.stringify(rest));
    const options = {
      persistent: true,
      contentType: 'application/json',
      headers: { [ATTEMPT_HEADER]: attempt_number, [DUE_AT_HEADER]: dueAt },
    };
    return new Promise<void>((resolve, reject) => {
      const callback = (error: unknown) => (error ? reject(error instanceof Error ? error : new Error('publish nacked')) : resolve());
      if (tier === undefined) channel.publish(this.names.exchange, 'ready', content, options, callback);
      else channel.publish('', this.names.tier(tier), content, options, callback);
    });
  }

  /**
   * Consumes due jobs, `prefetch` at a time. A job not yet due goes back to a tier; a handler failure puts
   * the message back on the ready queue after a pause, so nothing is dropped.
   */
  async consume(prefetch: number, handle: (job: DeliveryJob) => Promise<void>): Promise<void> {
    this.consumer = { prefetch, handle };
    await this.startConsuming();
  }

  private async startConsuming(): Promise<void> {
    const channel = this.channel;
    const consumer = this.consumer;
    if (!channel || !consumer) return;
    await channel.prefetch(consumer.prefetch);
    const reply = await channel.consume(this.names.ready, (message) => {
      if (!message) return;
      const work = this.onMessage(channel, message, consumer.handle);
      this.inFlight.add(work);
      void work.finally(() => this.inFlight.delete(work));
    });
    this.consumerTag = reply.consumerTag;
  }

  /** Acks and nacks go to the channel the message came on; if that channel died, RabbitMQ redelivers it. */
  private async onMessage(channel: ConfirmChannel, message: ConsumeMessage, handle: (job: DeliveryJob) => Promise<void>): Promise<void> {
    const headers = message.properties.headers ?? {};
    let job: DeliveryJob;
    try {
      const attempt = Number(headers[ATTEMPT_HEADER]);
      if (!Number.isInteger(attempt) || attempt < 1) throw new Error(`bad ${ATTEMPT_HEADER} header`);
      job = { ...(JSON.parse(message.content.toString('utf8')) as Omit<DeliveryJob, 'attempt_number'>), attempt_number: attempt };
    } catch (error) {
      this.log.error({ err: error }, 'unreadable retry message dropped');
      safely(() => channel.ack(message));
      return;
    }
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

  /** Messages in the ready queue (for metrics), or undefined when disconnected. */
  async readyDepth(): Promise<number | undefined> {
    const channel = this.channel;
    if (!channel) return undefined;
    return (await channel.checkQueue(this.names.ready)).messageCount;
  }

  async close(): Promise<void> {
    this.closing = true;
    const channel = this.channel;
    if (channel && this.consumerTag) await channel.cancel(this.consumerTag).catch(() => undefined);
    await Promise.allSettled([...this.inFlight]);
    await channel?.close().catch(() => undefined);
    await this.connection?.close().catch(() => undefined);
  }

  /** Test and operator helper: deletes this prefix's queues and exchange. */
  async deleteAll(): Promise<void> {
    const channel = this.channel;
    if (!channel) throw new Error('not connected to RabbitMQ');
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
