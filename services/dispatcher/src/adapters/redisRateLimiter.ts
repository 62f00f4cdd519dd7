import { createHash } from 'node:crypto';
import type { RedisClient } from '@hookpost/platform';
import type { RateLimitAnswer, RateLimiter } from '../delivery/rateLimit';

/**
 * One endpoint's limiter state, a hash of two times in microseconds of Redis's clock (TIME: one clock for
 * every dispatcher, whatever their own say):
 * - `tat`, the theoretical arrival time of GCRA: when the next request slot is free. Taking a slot moves it
 *   one interval on, so slots are one interval apart and any second holds at most limit + 1 requests.
 * - `queue`, the turn after the last one handed out to deferred attempts. While turns are out (queue > now),
 *   an attempt that holds none is queued behind them, so a deferred backlog is not overtaken by newcomers
 *   for ever; an attempt coming back at its turn (ARGV[3] = 1) may take a slot past them.
 *
 * A caller takes a slot if it is free within its window (ARGV[2]; it then waits that long in-process), else it
 * gets a turn: one interval after the last turn, and no earlier than half a window before the next free slot,
 * so that, coming back then, it finds its slot inside its window. When a whole interval passed with the slot
 * unused, the turns handed out are not coming back as planned (their deliveries were cancelled, or went
 * elsewhere): they are forgotten, rather than hold newcomers behind them.
 *
 * Times are written with %.0f: Lua 5.1 would print a number this large in %.14g, losing its last digits. The
 * key lives as long as its state means anything (until the last slot or turn plus an interval).
 */
const TAKE = `
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
local interval = tonumber(ARGV[1])
local window = tonumber(ARGV[2])
local queued = ARGV[3] == '1'
local tat = tonumber(redis.call('HGET', KEYS[1], 'tat')) or 0
local queue = tonumber(redis.call('HGET', KEYS[1], 'queue')) or 0
if tat + interval < now then queue = 0 end
if tat < now then tat = now end
local answer
if tat - now <= window and (queued or queue <= now) then
  answer = {'reserved', tat - now}
  tat = tat + interval
else
  local turn = math.max(queue, tat - window / 2, now)
  answer = {'queued', turn - now}
  queue = turn + interval
end
redis.call('HSET', KEYS[1], 'tat', string.format('%.0f', tat), 'queue', string.format('%.0f', queue))
redis.call('PEXPIRE', KEYS[1], math.ceil((math.max(tat, queue) + interval - now) / 1000) + 1)
answer[2] = string.format('%.0f', answer[2])
return answer`;

const TAKE_SHA = createHash('sha1').update(TAKE).digest('hex');

/**
 * The rate limiter on Redis: one atomic script per take (EVALSHA; after a Redis restart, or on a server that
 * never saw the script, it is sent once with EVAL), keyed per endpoint id under the run's prefix. A failure
 * (Redis down, no answer within HOOKPOST_REDIS_REPLY_TIMEOUT_MS) rejects; the dispatcher then defers.
 */
export class RedisRateLimiter implements RateLimiter {
  constructor(
    private readonly redis: RedisClient,
    private readonly prefix: string,
  ) {}

  private key(endpointId: string): string {
    return `${this.prefix}ratelimit:${endpointId}`;
  }

  async take(endpointId: string, request: Readonly<{ perSecond: number; windowMs: number; queued: boolean }>): Promise<RateLimitAnswer> {
    const options = {
      keys: [this.key(endpointId)],
      arguments: [String(Math.max(1, Math.round(1_000_000 / request.perSecond))), String(Math.round(request.windowMs * 1_000)), request.queued ? '1' : '0'],
    };
    let reply: unknown;
    try {
      reply = await this.redis.evalSha(TAKE_SHA, options);
    } catch (error) {
      if (!(error instanceof Error) || !error.message.startsWith('NOSCRIPT')) throw error;
      reply = await this.redis.eval(TAKE, options);
    }
    const [kind, micros] = reply as [string, string];
    const ms = Number(micros) / 1_000;
    switch (kind) {
      case 'reserved':
        return { kind: 'reserved', waitMs: ms };
      case 'queued':
        return { kind: 'queued', turnInMs: ms };
      default:
        throw new Error(`unexpected answer ${String(kind)} from the rate limiter`);
    }
  }
}
