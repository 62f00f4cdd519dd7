/**
 * The ordered phase's load: one application of the Svix-compatible API with one ordered endpoint at the bench
 * receiver (always 200), and messages sent to it one after the other over a few connections' worth of time
 * (each accepted before the next is sent, so the log's order is the sending order). The lane sends them one at
 * a time: a backlog builds when sending is faster than the lane, and the phase waits for it to drain.
 */
import type { Receiver } from './load';
import { ORDERED_PATH, orderedLedger } from './orderedLedger';
import { api, sleep } from './stack';

export async function createOrderedApplication(receiver: Receiver): Promise<{ appId: string; remove: () => Promise<void> }> {
  const app = await api('POST', '/api/v1/app', { name: 'bench-ordered' });
  if (app.status !== 201) throw new Error(`could not create an application: ${app.status} ${JSON.stringify(app.body)}`);
  const appId = app.body.id as string;
  const created = await api('POST', `/api/v1/app/${appId}/endpoint`, { url: receiver.url(ORDERED_PATH), ordered: true });
  if (created.status !== 201) throw new Error(`could not create the ordered endpoint: ${created.status} ${JSON.stringify(created.body)}`);
  return { appId, remove: async () => void (await api('DELETE', `/api/v1/app/${appId}`)) };
}

/** Sends `messages` one after the other, then waits (at most `drainSeconds`) until every one arrived. */
export async function orderedLoad(options: { receiver: Receiver; appId: string; messages: number; drainSeconds: number }) {
  const { receiver, appId } = options;
  const sent: { id: string; accepted: number }[] = [];
  const statuses: Record<string, number> = {};
  const start = performance.now();
  for (let seq = 0; seq < options.messages; seq += 1) {
    const answer = await api('POST', `/api/v1/app/${appId}/msg?with_content=false`, { eventType: 'bench.ordered', payload: { seq } });
    statuses[answer.status] = (statuses[answer.status] ?? 0) + 1;
    if (answer.status === 202) sent.push({ id: answer.body.id as string, accepted: performance.now() });
  }
  const sendingEnded = performance.now();
  const ids = new Set(sent.map((message) => message.id));
  const arrived = () => new Set(receiver.orderedArrivals.filter((arrival) => ids.has(arrival.id)).map((arrival) => arrival.id)).size;
  const drainUntil = performance.now() + options.drainSeconds * 1000;
  while (arrived() < sent.length && performance.now() < drainUntil) await sleep(200);
  // (a moment more, so that a duplicate coming late is counted)
  await sleep(1_000);
  return {
    phases_s: { sending: +((sendingEnded - start) / 1000).toFixed(1), drain: +((performance.now() - sendingEnded) / 1000).toFixed(1) },
    sent_per_s: +(sent.length / ((sendingEnded - start) / 1000)).toFixed(1),
    statuses,
    ...orderedLedger({ sent, arrivals: receiver.orderedArrivals }),
  };
}
