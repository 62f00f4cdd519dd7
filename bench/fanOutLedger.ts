/**
 * The fan-out phase's bookkeeping, kept apart from the load so it can be tested on its own: which endpoint a
 * request came to, what arrived of each message, and the figures the phase reports. Times are
 * performance.now() milliseconds of the bench process, where both the sending and the receiving happen.
 */
import { percentile } from './percentile';

/** Every fan-out endpoint of the bench points at `/ep/<index>` of the receiver, so a path names its endpoint. */
export const FAN_OUT_PATH_PREFIX = '/ep/';

/** The endpoint index of a receiver path (`/ep/17` → 17), or undefined when it is not a fan-out path. */
export function endpointIndexOf(path: string | undefined): number | undefined {
  if (!path?.startsWith(FAN_OUT_PATH_PREFIX)) return undefined;
  const rest = path.slice(FAN_OUT_PATH_PREFIX.length);
  return /^\d{1,6}$/.test(rest) ? Number(rest) : undefined;
}

/** Per message id (webhook-id, the same at every endpoint): per endpoint index, its first request and how many came. */
export type FanOutArrivals = Map<string, Map<number, { first: number; requests: number }>>;

/** Counts one request at the receiver. */
export function recordArrival(arrivals: FanOutArrivals, messageId: string, endpoint: number, now: number): void {
  let byEndpoint = arrivals.get(messageId);
  if (!byEndpoint) arrivals.set(messageId, (byEndpoint = new Map()));
  const seen = byEndpoint.get(endpoint);
  if (seen) seen.requests += 1;
  else byEndpoint.set(endpoint, { first: now, requests: 1 });
}

/** One message the gateway accepted: when it was due to be sent (open model), when its 202 was read, and whether it is in the measured window. */
export type AcceptedMessage = { due: number; accepted: number; measured: boolean };

/** How many (message, endpoint) deliveries have reached the receiver, over the messages accepted. */
export function deliveriesArrived(accepted: ReadonlyMap<string, AcceptedMessage>, arrivals: FanOutArrivals, endpoints: number): number {
  let arrived = 0;
  for (const id of accepted.keys()) {
    const byEndpoint = arrivals.get(id);
    if (!byEndpoint) continue;
    for (const endpoint of byEndpoint.keys()) if (endpoint < endpoints) arrived += 1;
  }
  return arrived;
}

const round = (value: number, digits = 1) => +value.toFixed(digits);

/**
 * The ledger and latencies of a fan-out run. Every accepted message must reach each of the `endpoints`
 * endpoints once: a (message, endpoint) pair never seen is missing; requests past the first at an endpoint are
 * duplicates; requests for a message this run did not send, or at an endpoint index past `endpoints`, are
 * unexpected. Latency is taken per delivery of a measured message, from its 202 and from its scheduled send
 * time to the first request at that endpoint. Deliveries per second are the first requests that arrived inside
 * `window` (whatever message they belong to), over its length.
 */
export function fanOutLedger(input: {
  accepted: ReadonlyMap<string, AcceptedMessage>;
  arrivals: FanOutArrivals;
  endpoints: number;
  window: { from: number; to: number };
}) {
  const { accepted, arrivals, endpoints, window } = input;
  let arrived = 0;
  let duplicates = 0;
  let unexpected = 0;
  let inWindow = 0;
  let incompleteMessages = 0;
  const fromAccepted: number[] = [];
  const fromSend: number[] = [];
  for (const [id, byEndpoint] of arrivals) {
    const message = accepted.get(id);
    for (const [endpoint, seen] of byEndpoint) {
      if (!message || endpoint >= endpoints) {
        unexpected += seen.requests;
        continue;
      }
      arrived += 1;
      duplicates += seen.requests - 1;
      if (seen.first >= window.from && seen.first < window.to) inWindow += 1;
      if (message.measured) {
        fromAccepted.push(seen.first - message.accepted);
        fromSend.push(seen.first - message.due);
      }
    }
  }
  for (const id of accepted.keys()) {
    const byEndpoint = arrivals.get(id);
    let count = 0;
    for (const endpoint of byEndpoint?.keys() ?? []) if (endpoint < endpoints) count += 1;
    if (count < endpoints) incompleteMessages += 1;
  }
  const measured = [...accepted.values()].filter((message) => message.measured);
  const answers = measured.map((message) => message.accepted - message.due).sort((a, b) => a - b);
  fromAccepted.sort((a, b) => a - b);
  fromSend.sort((a, b) => a - b);
  const seconds = (window.to - window.from) / 1000;
  return {
    ledger: {
      messages_accepted: accepted.size,
      deliveries_expected: accepted.size * endpoints,
      deliveries_arrived: arrived,
      missing: accepted.size * endpoints - arrived,
      messages_incomplete: incompleteMessages,
      duplicates,
      unexpected,
    },
    steady: {
      messages_accepted_per_s: seconds > 0 ? round(measured.length / seconds) : 0,
      deliveries_per_s: seconds > 0 ? Math.round(inWindow / seconds) : 0,
      accept_p50_ms: round(percentile(answers, 50)),
      accept_p99_ms: round(percentile(answers, 99)),
      from_accepted_p50_ms: round(percentile(fromAccepted, 50)),
      from_accepted_p99_ms: round(percentile(fromAccepted, 99)),
      from_send_p50_ms: round(percentile(fromSend, 50)),
      from_send_p99_ms: round(percentile(fromSend, 99)),
      from_accepted_max_ms: round(fromAccepted.length ? fromAccepted[fromAccepted.length - 1]! : NaN),
    },
  };
}

/**
 * CPU microseconds per delivery, per process name and in total, from the CPU seconds each used over a run.
 * The total is over the stack (services and brokers): names in `outside` (the load generator) are listed but
 * not added in.
 */
export function cpuPerDelivery(cpuSeconds: Readonly<Record<string, number>>, deliveries: number, outside: readonly string[]) {
  const per_process_us: Record<string, number> = {};
  let total = 0;
  for (const [name, seconds] of Object.entries(cpuSeconds)) {
    const micros = deliveries > 0 ? (seconds * 1e6) / deliveries : NaN;
    per_process_us[name] = round(micros);
    if (!outside.includes(name)) total += micros;
  }
  return { per_process_us, total_us: round(total) };
}
