import type { Admin } from 'kafkajs';

/** Next offsets by `topic/partition`: where the log ends, or how far the read model has applied it. */
export type Positions = Map<string, bigint>;

export const positionKey = (topic: string, partition: number) => `${topic}/${partition}`;

/** Every required position is reached in `applied` (a partition not yet in `applied` is at 0). */
export function reached(applied: ReadonlyMap<string, bigint>, required: ReadonlyMap<string, bigint>): boolean {
  for (const [key, offset] of required) if ((applied.get(key) ?? 0n) < offset) return false;
  return true;
}

/**
 * Where the log ends now, for a read that must reflect every write acknowledged before it arrived (with
 * acks=all a write is acknowledged only once it is below the high watermark, which is what ListOffsets
 * answers). Concurrent reads share a lookup, but only one that started after they arrived: a lookup already
 * in flight may predate their write.
 */
export class KafkaLogHead {
  private inFlight: Promise<Positions> | undefined;
  private queued: Promise<Positions> | undefined;
  private readonly wanted = new Set<string>();

  constructor(private readonly admin: Pick<Admin, 'fetchTopicOffsets'>) {}

  of(topics: readonly string[]): Promise<Positions> {
    // Lookups cover every topic any read needs, so a queued one serves all its waiters.
    return this.lookup(topics).then((all) => new Map([...all].filter(([key]) => topics.some((topic) => key.startsWith(`${topic}/`)))));
  }

  private lookup(topics: readonly string[]): Promise<Positions> {
    for (const topic of topics) this.wanted.add(topic);
    if (!this.inFlight) {
      const current = this.fetch([...this.wanted]).finally(() => {
        if (this.inFlight === current) this.inFlight = undefined;
      });
      this.inFlight = current;
      return current;
    }
    if (!this.queued) {
      const queued = this.inFlight
        .catch(() => undefined)
        .then(() => {
          this.queued = undefined;
          return this.lookup([]);
        });
      this.queued = queued;
    }
    return this.queued;
  }

  private async fetch(topics: string[]): Promise<Positions> {
    const positions: Positions = new Map();
    const answers = await Promise.all(topics.map(async (topic) => ({ topic, partitions: await this.admin.fetchTopicOffsets(topic) })));
    for (const { topic, partitions } of answers) {
      for (const { partition, high } of partitions) positions.set(positionKey(topic, partition), BigInt(high));
    }
    return positions;
  }
}

/**
 * How far the read model has applied each partition. This projector's own commits advance it at once; the
 * offsets stored in PostgreSQL (by any projector of the group) are polled while someone waits, so a read is
 * served by whichever projector it reaches.
 */
export class AppliedPositions {
  private readonly applied: Positions = new Map();
  private waiters = new Set<() => void>();
  private polling: NodeJS.Timeout | undefined;

  constructor(
    private readonly stored: () => Promise<Positions>,
    private readonly pollMs = 50,
  ) {}

  /** Called after a commit that took `topic/partition` up to (not including) `next`. */
  advance(topic: string, partition: number, next: bigint): void {
    this.raise(positionKey(topic, partition), next);
    this.wake();
  }

  /** Resolves true once every required position is applied, false when `timeoutMs` passed first. */
  async waitFor(required: Positions, timeoutMs: number): Promise<boolean> {
    if (reached(this.applied, required)) return true;
    await this.refresh().catch(() => undefined);
    const deadline = Date.now() + timeoutMs;
    while (!reached(this.applied, required)) {
      const left = deadline - Date.now();
      if (left <= 0) return false;
      await this.nextChange(left);
    }
    return true;
  }

  private raise(key: string, next: bigint): void {
    if ((this.applied.get(key) ?? -1n) < next) this.applied.set(key, next);
  }

  private async refresh(): Promise<void> {
    for (const [key, next] of await this.stored()) this.raise(key, next);
  }

  private wake(): void {
    const waiters = this.waiters;
    this.waiters = new Set();
    for (const wake of waiters) wake();
  }

  /** Waits for an own commit or the next poll of the stored offsets, whichever comes first. */
  private nextChange(maxMs: number): Promise<void> {
    if (!this.polling) {
      this.polling = setInterval(() => {
        if (this.waiters.size === 0) {
          clearInterval(this.polling);
          this.polling = undefined;
          return;
        }
        void this.refresh().then(() => this.wake(), () => undefined);
      }, this.pollMs);
    }
    return new Promise((resolve) => {
      const timer = setTimeout(done, maxMs);
      function done() {
        clearTimeout(timer);
        resolve();
      }
      this.waiters.add(done);
    });
  }

  close(): void {
    if (this.polling) clearInterval(this.polling);
    this.polling = undefined;
    this.wake();
  }
}
