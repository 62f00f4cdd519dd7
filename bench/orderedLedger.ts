/**
 * The ordered phase's bookkeeping, kept apart from the load so it can be tested on its own. One application
 * with one ordered endpoint at the bench receiver (path ORDERED_PATH, always 200); messages sent one after the
 * other (each 202 before the next is sent), so their order in the log is the order they were sent. Times are
 * performance.now() milliseconds of the bench process, where both the sending and the receiving happen.
 */
import { percentile } from './percentile';

export const ORDERED_PATH = '/ordered';

/** One request at the ordered endpoint, in the order they came. */
export type OrderedArrival = { id: string; at: number };

const round = (value: number, digits = 1) => +value.toFixed(digits);

/**
 * The ledger, order and pace of a run. `sent`: the accepted messages' ids in the order they were sent, with
 * when each 202 was read. Every one must arrive once (missing: never; duplicates: requests past the first);
 * out_of_order counts requests for a message other than the next one due or a repeat of the one just before
 * (what an ordered endpoint must never do); unexpected, requests for messages this run did not send.
 * Deliveries per second: distinct arrivals from the first to the last (the lane's throughput while it had a
 * backlog); latency: from each 202 to its first arrival (it includes the wait behind the messages before it).
 */
export function orderedLedger(input: { sent: readonly { id: string; accepted: number }[]; arrivals: readonly OrderedArrival[] }) {
  const position = new Map(input.sent.map((message, index) => [message.id, index]));
  const first = new Map<string, number>();
  let duplicates = 0;
  let outOfOrder = 0;
  let unexpected = 0;
  let last = -1;
  for (const arrival of input.arrivals) {
    const index = position.get(arrival.id);
    if (index === undefined) {
      unexpected += 1;
      continue;
    }
    if (first.has(arrival.id)) duplicates += 1;
    else first.set(arrival.id, arrival.at);
    if (index !== last && index !== last + 1) outOfOrder += 1;
    last = Math.max(last, index);
  }
  const times = [...first.values()].sort((a, b) => a - b);
  const span = times.length > 1 ? (times[times.length - 1]! - times[0]!) / 1000 : 0;
  const waits = input.sent.filter((message) => first.has(message.id)).map((message) => first.get(message.id)! - message.accepted).sort((a, b) => a - b);
  return {
    ledger: { messages_accepted: input.sent.length, arrived: first.size, missing: input.sent.length - first.size, duplicates, out_of_order: outOfOrder, unexpected },
    deliveries_per_s: span > 0 ? round((times.length - 1) / span) : 0,
    latency_p50_ms: round(percentile(waits, 50)),
    latency_p99_ms: round(percentile(waits, 99)),
  };
}
