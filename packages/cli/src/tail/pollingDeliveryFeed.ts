import type { MessageAttemptOut } from '@hookpost/contracts';
import { ApiError, Unreachable } from '../errors';
import type { HookpostClient } from '../hookpostClient';
import { admitAttempts, pollAfterMs, startSeen, type DeliveryFeed, type FeedItem, type SeenAttempts } from './deliveryFeed';

export type PollingOptions = Readonly<{
  app: string;
  /** Only these endpoints; every endpoint of the application (looked up again now and then) when empty. */
  endpoints: readonly string[];
  /** Show attempts from this time on; undefined: only those recorded after the tail starts. */
  sinceMs: number | undefined;
  intervalMs: number;
  now: () => number;
  /** How far back each poll looks again for attempts recorded late (default 10 s). */
  overlapMs?: number;
  /** Every this many polls the application's endpoints are listed again (default 5). */
  endpointRefreshPolls?: number;
}>;

const DEFAULT_OVERLAP_MS = 10_000;

/**
 * A DeliveryFeed over the public list operations: every interval, the attempts of each endpoint since a little
 * before the newest seen (`after`), page after page by the list's iterator (the cursor), de-duplicated by
 * id (deliveryFeed.ts admitAttempts). Hookpost unreachable or answering 503 is a notice, and polling goes on;
 * any other error (key refused, application gone) ends the feed by throwing.
 */
export class PollingDeliveryFeed implements DeliveryFeed {
  constructor(
    private readonly client: HookpostClient,
    private readonly options: PollingOptions,
  ) {}

  async *follow(signal: AbortSignal): AsyncGenerator<FeedItem> {
    const overlapMs = this.options.overlapMs ?? DEFAULT_OVERLAP_MS;
    const refreshEvery = this.options.endpointRefreshPolls ?? 5;
    const startedMs = this.options.now();
    // Without --since, what is already recorded around the start is taken in silently by the first poll.
    let state: SeenAttempts = startSeen(this.options.sinceMs ?? startedMs - overlapMs);
    let primed = this.options.sinceMs !== undefined;
    let endpoints: string[] = [...this.options.endpoints];
    // An endpoint found after the first poll is asked from the start of the tail once: its attempts may be
    // older than the overlap by the time the endpoint list shows it.
    const polledBefore = new Set<string>();
    const firstSightAfter = new Date(this.options.sinceMs ?? startedMs).toISOString();
    let polls = 0;
    let outage: string | undefined;

    while (!signal.aborted) {
      try {
        if (this.options.endpoints.length === 0 && polls % refreshEvery === 0) endpoints = await this.endpointIds();
        polls += 1;
        const after = new Date(pollAfterMs(state, overlapMs)).toISOString();
        const polled: MessageAttemptOut[] = [];
        for (const endpoint of endpoints) {
          try {
            polled.push(...(await this.attemptsSince(endpoint, polls === 1 || polledBefore.has(endpoint) ? after : firstSightAfter)));
            polledBefore.add(endpoint);
          } catch (error) {
            // An endpoint deleted while we follow: drop it; the next endpoint list no longer has it.
            if (error instanceof ApiError && error.status === 404 && this.options.endpoints.length === 0) {
              endpoints = endpoints.filter((id) => id !== endpoint);
              polledBefore.delete(endpoint);
              continue;
            }
            throw error;
          }
        }
        const admitted = admitAttempts(state, polled, overlapMs);
        state = admitted.state;
        if (outage) {
          yield { kind: 'notice', message: 'Hookpost answers again' };
          outage = undefined;
        }
        if (primed) for (const attempt of admitted.fresh) yield { kind: 'attempt', attempt };
        primed = true;
      } catch (error) {
        const passing = error instanceof Unreachable || (error instanceof ApiError && (error.status === 503 || error.status === 502 || error.status === 504));
        if (!passing) throw error;
        if (!outage) yield { kind: 'notice', message: `${error.message}; trying again every ${Math.round(this.options.intervalMs / 1000)} s` };
        outage = error.message;
      }
      await sleep(this.options.intervalMs, signal);
    }
  }

  private async endpointIds(): Promise<string[]> {
    const ids: string[] = [];
    for await (const page of this.client.everyPage((query) => this.client.listEndpoints(this.options.app, query), { limit: 250 })) ids.push(...page.data.map((endpoint) => endpoint.id));
    return ids;
  }

  private async attemptsSince(endpoint: string, after: string): Promise<MessageAttemptOut[]> {
    const attempts: MessageAttemptOut[] = [];
    const list = (query: Parameters<HookpostClient['listAttemptsByEndpoint']>[2]) => this.client.listAttemptsByEndpoint(this.options.app, endpoint, query);
    for await (const page of this.client.everyPage(list, { after, limit: 250, with_msg: true, with_content: false })) attempts.push(...page.data);
    return attempts;
  }
}

function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal.aborted) return resolve();
    const timer = setTimeout(done, ms);
    function done() {
      clearTimeout(timer);
      signal.removeEventListener('abort', done);
      resolve();
    }
    signal.addEventListener('abort', done);
  });
}
