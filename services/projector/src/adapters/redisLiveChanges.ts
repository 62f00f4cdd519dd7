import { liveDeliveriesChannel, type DeliveryRowChange } from '@hookpost/contracts';
import type { Logger, RedisClient } from '@hookpost/platform';

/**
 * Publishes the delivery rows each committed batch changed on a Redis channel, for the dashboards' live view
 * (the gateway relays them as server-sent events). Only while someone listens: the subscriber count is asked
 * once a second (in the background, so a dashboard that opens is served from the next batch on), and with
 * nobody listening the writer does not even ask PostgreSQL for the rows, so an unwatched projector pays nothing. Pub/sub is at-most-once: a dashboard that reconnects asks the API again.
 */
export class RedisLiveChanges {
  private listeners = 0;
  private timer: ReturnType<typeof setInterval> | undefined;

  constructor(
    private readonly redis: RedisClient,
    private readonly prefix: string,
    private readonly log: Logger,
  ) {}

  start(intervalMs = 1_000): void {
    const look = () => {
      this.redis
        .pubSubNumSub(this.channel)
        .then((counts) => {
          this.listeners = Number(counts[this.channel] ?? 0);
        })
        .catch((error: unknown) => this.log.debug({ err: error }, 'live changes: subscriber count failed'));
    };
    look();
    this.timer = setInterval(look, intervalMs);
    this.timer.unref();
  }

  stop(): void {
    clearInterval(this.timer);
  }

  private get channel(): string {
    return liveDeliveriesChannel(this.prefix);
  }

  /** Whether anyone listened at the last look. */
  watched(): boolean {
    return this.listeners > 0;
  }

  /** After the batch committed; never fails the batch. */
  publish(deliveries: DeliveryRowChange[]): void {
    if (deliveries.length === 0) return;
    this.redis.publish(this.channel, JSON.stringify(deliveries)).catch((error: unknown) => this.log.debug({ err: error }, 'live changes: publish failed'));
  }
}
