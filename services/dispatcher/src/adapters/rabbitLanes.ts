import { randomUUID } from 'node:crypto';
import amqp, { type Channel, type ConfirmChannel, type ConsumeMessage } from 'amqplib';
import { within, type Logger } from '@hookpost/platform';
import { checkDeliveryJob, type DeliveryJob } from '../delivery/deliveryJob';
import type { UnreadableRetry } from './rabbitRetryQueue';

/** How long RabbitMQ may take to confirm a publish or a declaration before the caller tries again. */
const BROKER_ANSWER_MS = 10_000;

type AmqpConnection = Awaited<ReturnType<typeof amqp.connect>>;

/** What a lane's consumer does with its head: let it go (its delivery ended), or give it back at its place. */
export type HeadOutcome = 'ack' | 'requeue';

type LaneConsumer = {
  /** Runs the head until its delivery ends or it must be given back; throws to give it back too. */
  /** `redelivered`: RabbitMQ gave this head out before (a crash, a requeue, another consumer's take-over). */
  runHead: (job: DeliveryJob, redelivered: boolean) => Promise<HeadOutcome>;
  park: (unreadable: UnreadableRetry) => Promise<void>;
};

/**
 * The lanes of ordered endpoints in RabbitMQ (docs/design-notes.md, "Ordered endpoints"): one durable classic
 * queue per endpoint with a single active consumer, consumed with a prefetch of 1. Every dispatcher consumes
 * every lane it knows of; RabbitMQ lets one of them take messages, one at a time, and hands the lane (its
 * unacknowledged head first) to another when that one goes. The head is acknowledged only once its delivery
 * ended; given back (nack, requeue) it is the next message delivered, so the lane's order holds.
 *
 * A lane's message is the delivery's first job; it says where the delivery stands in line and nothing else
 * (attempts, due times and the outcome are recorded in the log, and read from its projection by the lane).
 */
export class RabbitLanes {
  private connection: AmqpConnection | undefined;
  private publishing: ConfirmChannel | undefined;
  private consuming: Channel | undefined;
  private consumer: LaneConsumer | undefined;
  /** The lanes this process consumes (or will, once connected), by endpoint id, with their consumer tags. */
  private readonly lanes = new Map<string, string | undefined>();
  private readonly declared = new Set<string>();
  /** Lanes whose consumer is being started (two fan-outs may ask at once). */
  private readonly starting = new Set<string>();
  private readonly returned = new Set<string>();
  private readonly inFlight = new Set<Promise<void>>();
  private reconnecting: Promise<void> | undefined;
  private closing = false;

  private constructor(
    private readonly url: string,
    private readonly prefix: string,
    private readonly log: Logger,
  ) {}

  static async connect(options: { url: string; prefix: string; log: Logger }): Promise<RabbitLanes> {
    const lanes = new RabbitLanes(options.url, options.prefix, options.log);
    await lanes.open();
    return lanes;
  }

  /** The lane (queue) of an endpoint. */
  queueOf(subscriptionId: string): string {
    return `${this.prefix}hookpost.lane.${subscriptionId}`;
  }

  get connected(): boolean {
    return this.publishing !== undefined;
  }

  private async open(): Promise<void> {
    const connection = await amqp.connect(this.url);
    let publishing: ConfirmChannel;
    let consuming: Channel;
    try {
      publishing = await connection.createConfirmChannel();
      consuming = await connection.createChannel();
    } catch (error) {
      await connection.close().catch(() => undefined);
      throw error;
    }
    if (this.closing) {
      await connection.close().catch(() => undefined);
      return;
    }
    connection.on('error', (error) => this.log.warn({ err: error }, 'rabbitmq (lanes) connection error'));
    connection.on('close', () => {
      if (this.connection === connection) this.lost();
    });
    for (const channel of [publishing, consuming]) {
      channel.on('error', (error) => this.log.warn({ err: error }, 'rabbitmq (lanes) channel error'));
      channel.on('close', () => {
        if (this.connection === connection) this.restart('lane channel closed');
      });
    }
    publishing.on('return', (message: ConsumeMessage) => {
      const id = message.properties.messageId as string | undefined;
      if (id) this.returned.add(id);
    });
    // Per consumer: one unacknowledged message per lane, its head.
    await consuming.prefetch(1, false);
    this.connection = connection;
    this.publishing = publishing;
    this.consuming = consuming;
    this.declared.clear();
    if (this.consumer) for (const id of this.lanes.keys()) await this.startConsuming(id);
  }

  private restart(reason: string): void {
    const connection = this.connection;
    if (!connection || this.closing) return;
    this.log.warn({ reason }, 'rabbitmq (lanes): reconnecting');
    this.lost();
    void connection.close().catch(() => undefined);
  }

  private lost(): void {
    this.connection = undefined;
    this.publishing = undefined;
    this.consuming = undefined;
    for (const id of this.lanes.keys()) this.lanes.set(id, undefined);
    this.returned.clear();
    if (this.closing || this.reconnecting) return;
    this.reconnecting = (async () => {
      for (let wait = 250; !this.closing; wait = Math.min(wait * 2, 5_000)) {
        await new Promise((resolve) => setTimeout(resolve, wait));
        if (this.closing) return;
        try {
          await this.open();
          this.log.info('rabbitmq (lanes) reconnected');
          return;
        } catch (error) {
          this.log.warn({ err: error }, 'rabbitmq (lanes) reconnect failed');
        }
      }
    })().finally(() => {
      this.reconnecting = undefined;
    });
  }

  /**
   * Declares an endpoint's lane (idempotent), on a channel of its own: RabbitMQ closes the channel of a
   * declaration it refuses.
   */
  private async declare(subscriptionId: string): Promise<void> {
    const queue = this.queueOf(subscriptionId);
    if (this.declared.has(queue)) return;
    const connection = this.connection;
    if (!connection) throw new Error('not connected to RabbitMQ');
    const channel = await connection.createChannel();
    channel.on('error', () => undefined);
    try {
      await within(
        BROKER_ANSWER_MS,
        // Classic, not quorum: RabbitMQ 3.10 puts a message a quorum queue's consumer gives back (nack, requeue)
        // at the end of the queue, where a classic queue keeps it at its place; a lane must get its head back
        // first (docs/design-notes.md, "Ordered endpoints"). Durable, with persistent messages confirmed once
        // written: a lane survives a broker restart.
        channel.assertQueue(queue, { durable: true, arguments: { 'x-queue-type': 'classic', 'x-single-active-consumer': true } }),
        'RabbitMQ declared no lane',
      );
      this.declared.add(queue);
    } finally {
      await channel.close().catch(() => undefined);
    }
  }

  /**
   * Puts jobs at the end of their endpoints' lanes, in the order given (one channel: RabbitMQ keeps a
   * channel's publishes to a queue in order), and resolves once RabbitMQ confirmed every one. A failure
   * leaves some perhaps put in: the caller puts them all in again, and a lane lets a copy of a delivery that
   * ended go when it reaches it. Each lane is consumed here from then on.
   */
  async enqueue(jobs: readonly DeliveryJob[]): Promise<void> {
    for (const job of jobs) await this.declare(job.subscription_id);
    const channel = this.publishing;
    if (!channel) throw new Error('not connected to RabbitMQ');
    const confirms = jobs.map((job) => {
      const messageId = randomUUID();
      const queue = this.queueOf(job.subscription_id);
      return new Promise<void>((resolve, reject) => {
        channel.publish('', queue, Buffer.from(JSON.stringify(job)), { persistent: true, mandatory: true, messageId, contentType: 'application/json' }, (error: unknown) => {
          if (error) return reject(error instanceof Error ? error : new Error(String(error)));
          if (!this.returned.delete(messageId)) return resolve();
          this.declared.delete(queue);
          reject(new Error(`no lane took the delivery (${queue} missing); publish again`));
        });
      });
    });
    await within(BROKER_ANSWER_MS, Promise.all(confirms), 'RabbitMQ confirmed no lane publish');
    for (const job of jobs) await this.consume(job.subscription_id);
  }

  /** Starts handling lanes' heads with `consumer` (the lanes known so far are consumed now). */
  async start(consumer: LaneConsumer): Promise<void> {
    this.consumer = consumer;
    for (const id of this.lanes.keys()) await this.startConsuming(id);
  }

  /** Consumes an endpoint's lane, if not consumed here already. */
  async consume(subscriptionId: string): Promise<void> {
    if (this.lanes.get(subscriptionId) !== undefined) return;
    this.lanes.set(subscriptionId, undefined);
    if (this.consumer) await this.startConsuming(subscriptionId);
  }

  /** The lanes consumed here (metrics, tests). */
  get consumed(): number {
    return [...this.lanes.values()].filter((tag) => tag !== undefined).length;
  }

  private async startConsuming(subscriptionId: string): Promise<void> {
    const channel = this.consuming;
    const consumer = this.consumer;
    if (!channel || !consumer || this.closing || this.lanes.get(subscriptionId) !== undefined || this.starting.has(subscriptionId)) return;
    this.starting.add(subscriptionId);
    try {
      await this.declare(subscriptionId);
      await this.consumeDeclared(channel, consumer, subscriptionId);
    } finally {
      this.starting.delete(subscriptionId);
    }
  }

  private async consumeDeclared(channel: Channel, consumer: LaneConsumer, subscriptionId: string): Promise<void> {
    const reply = await channel.consume(this.queueOf(subscriptionId), (message) => {
      if (!message) {
        // RabbitMQ cancelled the consumer (the lane was deleted): consumed again if it comes back.
        this.lanes.delete(subscriptionId);
        this.declared.delete(this.queueOf(subscriptionId));
        return;
      }
      const work = this.onHead(channel, message, consumer);
      this.inFlight.add(work);
      void work.finally(() => this.inFlight.delete(work));
    });
    this.lanes.set(subscriptionId, reply.consumerTag);
  }

  private async onHead(channel: Channel, message: ConsumeMessage, consumer: LaneConsumer): Promise<void> {
    let parsed: unknown;
    try {
      parsed = JSON.parse(message.content.toString('utf8'));
    } catch {
      parsed = undefined;
    }
    const read = checkDeliveryJob(parsed);
    if (!read.ok) {
      try {
        await consumer.park({ queue: message.fields.routingKey, content: message.content, headers: (message.properties.headers ?? {}) as Record<string, unknown>, reason: read.reason });
        this.log.error({ queue: message.fields.routingKey, reason: read.reason }, 'unreadable lane message parked');
        safely(() => channel.ack(message));
      } catch (error) {
        this.log.warn({ err: error }, 'unreadable lane message not parked yet; requeueing');
        await new Promise((resolve) => setTimeout(resolve, 1_000));
        safely(() => channel.nack(message, false, true));
      }
      return;
    }
    let outcome: HeadOutcome;
    try {
      outcome = await consumer.runHead(read.job, message.fields.redelivered);
    } catch (error) {
      if (!this.closing) this.log.warn({ err: error, delivery_id: read.job.delivery_id }, 'lane head not handled; given back');
      outcome = 'requeue';
    }
    // (given back, it is the lane's next message again: at its place, for this consumer or the next active one)
    if (outcome === 'ack') safely(() => channel.ack(message));
    else safely(() => channel.nack(message, false, true));
  }

  /** Messages waiting in an endpoint's lane, head included (tests, operators); undefined when disconnected. */
  async depth(subscriptionId: string): Promise<number | undefined> {
    const connection = this.connection;
    if (!connection) return undefined;
    const channel = await connection.createChannel();
    channel.on('error', () => undefined);
    try {
      return (await channel.checkQueue(this.queueOf(subscriptionId))).messageCount;
    } finally {
      await channel.close().catch(() => undefined);
    }
  }

  /**
   * Stops taking heads (first thing on shutdown): a head given back meanwhile goes to another dispatcher
   * rather than straight back to this one.
   */
  async stopTaking(): Promise<void> {
    this.closing = true;
    const channel = this.consuming;
    if (channel) for (const tag of this.lanes.values()) if (tag) await channel.cancel(tag).catch(() => undefined);
  }

  /** Stops taking heads, lets the ones in hand end or be given back, then closes. */
  async close(): Promise<void> {
    await this.stopTaking();
    await Promise.allSettled([...this.inFlight]);
    await this.connection?.close().catch(() => undefined);
  }
}

/** An ack on a channel that has since closed throws; RabbitMQ gives the message to the lane's next consumer anyway. */
function safely(action: () => void): void {
  try {
    action();
  } catch {
    // the channel is gone; RabbitMQ requeues unacknowledged messages
  }
}
