import { liveDeliveriesChannel, type DeliveryRowChange } from '@hookpost/contracts';
import type { Logger, RedisClient } from '@hookpost/platform';

export type LiveListener = (changes: DeliveryRowChange[]) => void;

/**
 * The read model's committed delivery changes (published by the projector, redisLiveChanges.ts), for the
 * dashboards connected to this gateway. One subscribing Redis connection per gateway, held only while at least
 * one dashboard listens (the projector stops publishing when nobody subscribes), shared by all of them.
 */
export class RedisLiveDeliveries {
  private readonly listeners = new Set<LiveListener>();
  private subscriber: RedisClient | undefined;
  private connecting: Promise<void> | undefined;

  constructor(
    private readonly redis: RedisClient,
    private readonly prefix: string,
    private readonly log: Logger,
  ) {}

  /** Starts listening; resolves once the subscription is in place (changes committed after it are delivered). */
  async listen(listener: LiveListener): Promise<() => void> {
    this.listeners.add(listener);
    try {
      await this.subscribed();
    } catch (error) {
      this.listeners.delete(listener);
      throw error;
    }
    return () => {
      this.listeners.delete(listener);
      if (this.listeners.size === 0) void this.unsubscribe();
    };
  }

  private subscribed(): Promise<void> {
    if (this.subscriber) return Promise.resolve();
    this.connecting ??= (async () => {
      const subscriber = this.redis.duplicate();
      subscriber.on('error', (error: unknown) => this.log.warn({ err: error }, 'live deliveries: redis subscriber error'));
      try {
        await subscriber.connect();
        await subscriber.subscribe(liveDeliveriesChannel(this.prefix), (message) => this.deliver(message));
        this.subscriber = subscriber as RedisClient;
      } catch (error) {
        await subscriber.quit().catch(() => undefined);
        throw error;
      } finally {
        this.connecting = undefined;
      }
    })();
    return this.connecting;
  }

  private deliver(message: string): void {
    let changes: DeliveryRowChange[];
    try {
      changes = JSON.parse(message) as DeliveryRowChange[];
    } catch {
      return;
    }
    for (const listener of this.listeners) listener(changes);
  }

  private async unsubscribe(): Promise<void> {
    const subscriber = this.subscriber;
    this.subscriber = undefined;
    if (subscriber) await subscriber.quit().catch(() => undefined);
  }

  async close(): Promise<void> {
    this.listeners.clear();
    await this.connecting?.catch(() => undefined);
    await this.unsubscribe();
  }
}
