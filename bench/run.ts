/**
 * npm run bench: measures the running stack (npm start) on this machine and writes bench/results/<time>.json/.md.
 * Figures are reported, never asserted. Load goes only to 127.0.0.1.
 */
import { writeFileSync, readFileSync } from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import type { AddressInfo } from 'node:net';
import express from 'express';
import { Pool } from 'undici';

const BASE = process.env.HOOKPOST_URL ?? 'http://127.0.0.1:8000';
const KEY = process.env.HOOKPOST_API_KEYS?.split(',')[0] ?? readFileSync(path.join(__dirname, '../.hookpost/api-key'), 'utf8').trim();
const SECONDS = Number(process.env.BENCH_SECONDS ?? 10);
const CONNECTIONS = Number(process.env.BENCH_CONNECTIONS ?? 64);

const STATE = process.env.HOOKPOST_STATE_DIR ?? path.join(__dirname, '../.hookpost');
const TICKS_PER_SECOND = 100;

/** CPU seconds and resident memory of each process the stack runs (services from their pid files, brokers by name). */
function processUsage(): Record<string, { cpu_s: number; rss_mib: number }> {
  const usage: Record<string, { cpu_s: number; rss_mib: number }> = {};
  const pids: Record<string, number> = {};
  for (const name of ['gateway', 'dispatcher', 'projector']) {
    try {
      pids[name] = Number(readFileSync(path.join(STATE, 'run', `${name}.pid`), 'utf8'));
    } catch {
      // not started by npm start
    }
  }
  try {
    pids.kafka = Number(readFileSync(path.join(STATE, 'run', 'kafka.started'), 'utf8'));
  } catch {
    // reused Kafka
  }
  for (const [name, pid] of Object.entries(pids)) {
    try {
      const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
      const status = readFileSync(`/proc/${pid}/status`, 'utf8');
      usage[name] = { cpu_s: (Number(fields[11]) + Number(fields[12])) / TICKS_PER_SECOND, rss_mib: Math.round(Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? 0) / 1024) };
    } catch {
      // gone
    }
  }
  return usage;
}

function usageDelta(before: ReturnType<typeof processUsage>, after: ReturnType<typeof processUsage>, seconds: number) {
  return Object.fromEntries(
    Object.entries(after).map(([name, now]) => [name, { cpu_percent: Math.round(((now.cpu_s - (before[name]?.cpu_s ?? 0)) / seconds) * 100), rss_mib: now.rss_mib }]),
  );
}

/** p50/p99 of the projector's projection-lag histogram (upper bucket bounds), and its applied count. */
async function projectionFigures() {
  const text = await (await fetch('http://127.0.0.1:8001/metrics')).text();
  const buckets = [...text.matchAll(/^hookpost_projection_lag_seconds_bucket\{.*le="([^"]+)".*\} (\d+)$/gm)].map((m) => ({ le: m[1] === '+Inf' ? Infinity : Number(m[1]), count: Number(m[2]) }));
  const total = buckets[buckets.length - 1]?.count ?? 0;
  const at = (p: number) => buckets.find((bucket) => bucket.count >= total * p)?.le ?? NaN;
  const applied = [...text.matchAll(/^hookpost_projected_events_total\{.*\} (\d+)$/gm)].reduce((sum, m) => sum + Number(m[1]), 0);
  return { events: applied, lag_p50_s_at_most: at(0.5), lag_p99_s_at_most: at(0.99) };
}

const percentile = (sorted: number[], p: number) => (sorted.length ? sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]! : NaN);

/** Closed loop: CONNECTIONS workers POST as fast as answers come back, for SECONDS. */
async function saturate(origin: string, pathName: string, headers: Record<string, string>, body: string) {
  const pool = new Pool(origin, { connections: CONNECTIONS, pipelining: 1 });
  const latencies: number[] = [];
  const statuses: Record<string, number> = {};
  const end = Date.now() + SECONDS * 1000;
  await Promise.all(
    Array.from({ length: CONNECTIONS }, async () => {
      while (Date.now() < end) {
        const started = performance.now();
        try {
          const answer = await pool.request({ method: 'POST', path: pathName, headers, body });
          await answer.body.dump();
          statuses[answer.statusCode] = (statuses[answer.statusCode] ?? 0) + 1;
        } catch {
          statuses.error = (statuses.error ?? 0) + 1;
        }
        latencies.push(performance.now() - started);
      }
    }),
  );
  await pool.close();
  latencies.sort((a, b) => a - b);
  const ok = (statuses['202'] ?? 0) as number;
  return { requests_per_s: Math.round(ok / SECONDS), p50_ms: +percentile(latencies, 50).toFixed(2), p99_ms: +percentile(latencies, 99).toFixed(2), statuses };
}

async function bareExpress() {
  const app = express();
  app.use(express.json());
  app.post('/ingest/:id', (_req, res) => void res.status(202).json({ delivery_id: '00000000-0000-4000-8000-000000000000', status: 'pending' }));
  const server = app.listen(0, '127.0.0.1');
  await new Promise((resolve) => server.once('listening', resolve));
  return { server, origin: `http://127.0.0.1:${(server.address() as AddressInfo).port}` };
}

async function api(method: string, pathName: string, body?: unknown) {
  const response = await fetch(`${BASE}${pathName}`, {
    method,
    headers: { authorization: `Bearer ${KEY}`, 'content-type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  return (await response.json()) as Record<string, any>;
}

/** Open model: RATE webhooks/s on schedule; latency from the scheduled send to the receiver's first byte. */
async function endToEnd(rate: number, seconds: number) {
  const arrivals = new Map<string, number>();
  const receiver = http.createServer((req, res) => {
    arrivals.set(String(req.headers['webhook-id']), performance.now());
    req.resume();
    req.on('end', () => res.writeHead(200).end());
  });
  receiver.keepAliveTimeout = 30_000;
  receiver.listen(0, '127.0.0.1');
  await new Promise((resolve) => receiver.once('listening', resolve));
  const subscription = await api('POST', '/subscriptions', { name: 'bench', target_url: `http://127.0.0.1:${(receiver.address() as AddressInfo).port}/hook` });
  await new Promise((resolve) => setTimeout(resolve, 500));
  const pool = new Pool(BASE, { connections: 64 });
  const scheduled = new Map<string, number>();
  const sends: Promise<void>[] = [];
  let rejected = 0;
  const start = performance.now();
  for (let n = 0; n < rate * seconds; n += 1) {
    const due = start + (n * 1000) / rate;
    const wait = due - performance.now();
    if (wait > 0) await new Promise((resolve) => setTimeout(resolve, wait));
    sends.push(
      pool
        .request({ method: 'POST', path: `/ingest/${subscription.id}`, headers: { authorization: `Bearer ${KEY}`, 'content-type': 'application/json' }, body: JSON.stringify({ event_type: 'bench.event', data: { n } }) })
        .then(async (answer) => {
          const text = await answer.body.text();
          if (answer.statusCode === 202) scheduled.set(JSON.parse(text).delivery_id, due);
          else rejected += 1;
        }),
    );
  }
  await Promise.all(sends);
  const drainUntil = performance.now() + 60_000;
  while ([...scheduled.keys()].some((id) => !arrivals.has(id)) && performance.now() < drainUntil) await new Promise((resolve) => setTimeout(resolve, 100));
  const latencies = [...scheduled].filter(([id]) => arrivals.has(id)).map(([id, due]) => arrivals.get(id)! - due).sort((a, b) => a - b);
  const lastArrival = Math.max(...arrivals.values());
  await pool.close();
  receiver.close();
  return {
    offered_per_s: rate,
    sent: rate * seconds,
    accepted: scheduled.size,
    rejected,
    delivered: latencies.length,
    lost_or_pending: scheduled.size - latencies.length,
    delivered_per_s: Math.round(latencies.length / ((lastArrival - start) / 1000)),
    p50_ms: +percentile(latencies, 50).toFixed(1),
    p99_ms: +percentile(latencies, 99).toFixed(1),
  };
}

async function main() {
  // The deliveries this phase causes go to a receiver that accepts at once, so none of them retry.
  const sink = http.createServer((req, res) => {
    req.resume();
    req.on('end', () => res.writeHead(200).end());
  });
  sink.listen(0, '127.0.0.1');
  await new Promise((resolve) => sink.once('listening', resolve));
  const subscription = await api('POST', '/subscriptions', { name: 'bench-ingest', target_url: `http://127.0.0.1:${(sink.address() as AddressInfo).port}/hook` });
  const body = JSON.stringify({ event_type: 'bench.event', data: { key: 'value' } });
  const headers = { authorization: `Bearer ${KEY}`, 'content-type': 'application/json' };
  const ours = await saturate(BASE, `/ingest/${subscription.id}`, headers, body);
  await new Promise((resolve) => setTimeout(resolve, 3_000));
  sink.close();
  const bare = await bareExpress();
  const baseline = await saturate(bare.origin, '/ingest/x', headers, body);
  bare.server.close();
  const e2e = [];
  const projectionBefore = await projectionFigures();
  const usageBefore = processUsage();
  const e2eStart = Date.now();
  for (const rate of (process.env.BENCH_E2E_RATES ?? '200,500').split(',').map(Number)) e2e.push(await endToEnd(rate, SECONDS));
  const e2eSeconds = (Date.now() - e2eStart) / 1000;
  const usage = usageDelta(usageBefore, processUsage(), e2eSeconds);
  const projectionAfter = await projectionFigures();
  const projection = {
    events_per_s: Math.round((projectionAfter.events - projectionBefore.events) / e2eSeconds),
    lag_p50_s_at_most: projectionAfter.lag_p50_s_at_most,
    lag_p99_s_at_most: projectionAfter.lag_p99_s_at_most,
    note: 'events applied during the end-to-end phases (offered load, not the projector maximum); lag from the histogram since the projector started',
  };

  const result = {
    at: new Date().toISOString(),
    machine: { cpus: os.cpus().length, cpu: os.cpus()[0]?.model, memory_gib: Math.round(os.totalmem() / 2 ** 30), node: process.version },
    settings: { seconds: SECONDS, connections: CONNECTIONS, dispatchers: 1 },
    ingest: { hookpost: ours, bare_express: baseline, ratio: +(ours.requests_per_s / baseline.requests_per_s).toFixed(2) },
    end_to_end: e2e,
    projection,
    processes_during_end_to_end: usage,
  };
  const stamp = result.at.replace(/[:.]/g, '-');
  writeFileSync(path.join(__dirname, 'results', `${stamp}.json`), JSON.stringify(result, null, 2));
  const md = [
    `# Bench ${result.at}`,
    `${result.machine.cpus} × ${result.machine.cpu}, ${result.machine.memory_gib} GiB, Node ${result.machine.node}; ${SECONDS} s per phase, ${CONNECTIONS} connections.`,
    '',
    '| ingest (closed loop) | 202/s | p50 ms | p99 ms |',
    '|---|---|---|---|',
    `| Hookpost (acks=all) | ${ours.requests_per_s} | ${ours.p50_ms} | ${ours.p99_ms} |`,
    `| bare Express | ${baseline.requests_per_s} | ${baseline.p50_ms} | ${baseline.p99_ms} |`,
    `| ratio | ${result.ingest.ratio} | | |`,
    '',
    '| end to end (open model) | offered/s | accepted | delivered | lost or pending | delivered/s | p50 ms | p99 ms |',
    '|---|---|---|---|---|---|---|---|',
    ...e2e.map((r) => `| | ${r.offered_per_s} | ${r.accepted} | ${r.delivered} | ${r.lost_or_pending} | ${r.delivered_per_s} | ${r.p50_ms} | ${r.p99_ms} |`),
    '',
    `Projection during the end-to-end phases: ${projection.events_per_s} events/s applied; lag p50 ≤ ${projection.lag_p50_s_at_most} s, p99 ≤ ${projection.lag_p99_s_at_most} s (histogram buckets).`,
    '',
    '| process (end-to-end phases) | CPU % | RSS MiB |',
    '|---|---|---|',
    ...Object.entries(usage).map(([name, u]) => `| ${name} | ${u.cpu_percent} | ${u.rss_mib} |`),
    '',
    'Dispatcher processes: 1.',
  ].join('\n');
  writeFileSync(path.join(__dirname, 'results', `${stamp}.md`), md + '\n');
  console.log(md);
}

main().catch((error) => {
  console.error(error);
  process.exit(1);
});
