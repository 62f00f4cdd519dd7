/**
 * The replay-from-the-log phase: `messages` messages are sent to an application that has no endpoint (so
 * nothing is delivered while they are sent), then one endpoint asks for all of them from the log
 * (`POST …/replay-from-log`, a background task that reads the webhooks topic). Timed from the request to the
 * last message at the receiver, and to the task reading as finished; the ledger counts every message once.
 */
import { Pool } from 'undici';
import { FAN_OUT_PATH_PREFIX } from './fanOutLedger';
import { logReplayLedger, REPLAY_ENDPOINT_INDEX } from './logReplayLedger';
import type { Receiver } from './load';
import { api, authorized, BASE, sleep } from './stack';

/** Sends `count` messages to `appId` as fast as the gateway takes them (`connections` at a time); the ids accepted. */
async function sendMessages(appId: string, count: number, connections: number): Promise<string[]> {
  const pool = new Pool(BASE, { connections });
  const ids: string[] = [];
  let issued = 0;
  await Promise.all(
    Array.from({ length: connections }, async () => {
      while (issued < count) {
        const n = issued++;
        const answer = await pool.request({
          method: 'POST',
          path: `/api/v1/app/${appId}/msg?with_content=false`,
          headers: authorized,
          body: JSON.stringify({ eventType: 'bench.replay', payload: { n, key: 'value' } }),
        });
        const text = await answer.body.text();
        if (answer.statusCode === 202) ids.push(JSON.parse(text).id);
      }
    }),
  );
  await pool.close();
  return ids;
}

export async function logReplay(options: {
  receiver: Receiver;
  messages: number;
  connections: number;
  /** Waits until the dispatcher and projector have caught up (between sending and replaying). */
  caughtUp: () => Promise<void>;
  timeoutSeconds: number;
}) {
  const { receiver } = options;
  const app = await api('POST', '/api/v1/app', { name: `bench-log-replay-${options.messages}` });
  if (app.status !== 201) throw new Error(`could not create an application: ${app.status} ${JSON.stringify(app.body)}`);
  const appId = app.body.id as string;
  try {
    const since = new Date(Date.now() - 1_000).toISOString();
    const sendStarted = performance.now();
    const sent = await sendMessages(appId, options.messages, options.connections);
    const sendSeconds = (performance.now() - sendStarted) / 1000;
    const until = new Date(Date.now() + 1_000).toISOString();
    await options.caughtUp();

    // The endpoint filters on a type nothing is sent as: only the replay reaches it.
    const endpoint = await api('POST', `/api/v1/app/${appId}/endpoint`, { url: receiver.url(`${FAN_OUT_PATH_PREFIX}${REPLAY_ENDPOINT_INDEX}`), filterTypes: ['bench.never'] });
    if (endpoint.status !== 201) throw new Error(`could not create the endpoint: ${endpoint.status} ${JSON.stringify(endpoint.body)}`);
    const started = performance.now();
    const task = await api('POST', `/api/v1/app/${appId}/endpoint/${endpoint.body.id}/replay-from-log`, { since, until });
    if (task.status !== 202) throw new Error(`the replay was refused: ${task.status} ${JSON.stringify(task.body)}`);

    let allArrivedAt: number | undefined;
    let finishedAt: number | undefined;
    let state: Record<string, unknown> = {};
    const deadline = started + options.timeoutSeconds * 1000;
    while ((allArrivedAt === undefined || finishedAt === undefined) && performance.now() < deadline) {
      await sleep(250);
      if (allArrivedAt === undefined && logReplayLedger(sent, receiver.fanOutArrivals).replayed === sent.length) allArrivedAt = performance.now();
      if (finishedAt === undefined) {
        const read = await api('GET', `/api/v1/background-task/${task.body.id}`);
        state = read.body;
        if (read.status === 200 && read.body.status !== 'running') finishedAt = performance.now();
      }
    }
    // (a moment for late copies, so duplicates would show)
    await sleep(2_000);
    const ledger = logReplayLedger(sent, receiver.fanOutArrivals);
    const seconds = allArrivedAt === undefined ? undefined : (allArrivedAt - started) / 1000;
    return {
      messages_sent: options.messages,
      messages_accepted: sent.length,
      send_s: +sendSeconds.toFixed(1),
      ledger,
      seconds_to_all_arrived: seconds === undefined ? null : +seconds.toFixed(1),
      seconds_to_task_end: finishedAt === undefined ? null : +((finishedAt - started) / 1000).toFixed(1),
      messages_per_s: seconds === undefined ? null : Math.round(sent.length / seconds),
      task: state,
    };
  } finally {
    await api('DELETE', `/api/v1/app/${appId}`);
  }
}
