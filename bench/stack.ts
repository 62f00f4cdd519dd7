/**
 * What the bench reads from the running stack: its API, the projector's metrics, and the CPU and memory of
 * every process (services from npm start's pid files, brokers by their command name). All of it on 127.0.0.1.
 */
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';

const ROOT = path.join(__dirname, '..');
const STATE = process.env.HOOKPOST_STATE_DIR ?? path.join(ROOT, '.hookpost');
export const BASE = process.env.HOOKPOST_URL ?? 'http://127.0.0.1:8000';
const PROJECTOR = process.env.HOOKPOST_PROJECTOR_URL ?? 'http://127.0.0.1:8001';
const DISPATCHER = process.env.HOOKPOST_DISPATCHER_URL ?? 'http://127.0.0.1:8002';
export const KEY = process.env.HOOKPOST_API_KEYS?.split(',')[0] ?? readFileSync(path.join(STATE, 'api-key'), 'utf8').trim();
export const authorized = { authorization: `Bearer ${KEY}`, 'content-type': 'application/json' };

export const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

export async function api(method: string, pathName: string, body?: unknown): Promise<{ status: number; body: Record<string, any> }> {
  const response = await fetch(`${BASE}${pathName}`, { method, headers: authorized, body: body === undefined ? undefined : JSON.stringify(body) });
  const text = await response.text();
  return { status: response.status, body: text ? JSON.parse(text) : {} };
}

// ---- processes ----

/** CPU seconds and resident memory of each process, by pid, with the name it is reported under. */
type Usage = Map<number, { name: string; cpu_s: number; rss_mib: number }>;
const TICKS_PER_SECOND = 100;
/** Broker processes by their command name; PostgreSQL runs one process per connection, so they are summed. */
const BROKERS: Record<string, string> = { java: 'kafka', 'beam.smp': 'rabbitmq', postgres: 'postgresql', 'redis-server': 'redis' };
export const extraProcesses = new Map<string, number>();
/** The name the bench's own process (load generator and receiver) is reported under. */
export const LOAD_GENERATOR = 'bench (load + receiver)';

function readStat(pid: number): { comm: string; cpu_s: number; rss_mib: number } | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const comm = stat.slice(stat.indexOf('(') + 1, stat.lastIndexOf(')'));
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return { comm, cpu_s: (Number(fields[11]) + Number(fields[12])) / TICKS_PER_SECOND, rss_mib: proportionalMib(pid) ?? (Number(fields[21]) * 4096) / 2 ** 20 };
  } catch {
    return undefined;
  }
}

/** Proportional set size: shared pages split among the processes sharing them, so PostgreSQL's sum is fair. */
function proportionalMib(pid: number): number | undefined {
  try {
    const kib = /^Pss:\s+(\d+) kB/m.exec(readFileSync(`/proc/${pid}/smaps_rollup`, 'utf8'))?.[1];
    return kib === undefined ? undefined : Number(kib) / 1024;
  } catch {
    return undefined;
  }
}

function servicePid(name: string): number | undefined {
  try {
    return Number(readFileSync(path.join(STATE, 'run', `${name}.pid`), 'utf8'));
  } catch {
    return undefined;
  }
}

export function processUsage(): Usage {
  const usage: Usage = new Map();
  const services = new Map<number, string>();
  for (const name of ['gateway', 'dispatcher', 'projector']) {
    const pid = servicePid(name);
    if (pid) services.set(pid, name);
  }
  for (const [name, pid] of extraProcesses) services.set(pid, name);
  for (const entry of readdirSync('/proc')) {
    const pid = Number(entry);
    if (!Number.isInteger(pid)) continue;
    const stat = readStat(pid);
    const name = stat && (services.get(pid) ?? BROKERS[stat.comm] ?? (pid === process.pid ? LOAD_GENERATOR : undefined));
    if (name) usage.set(pid, { name, cpu_s: stat.cpu_s, rss_mib: stat.rss_mib });
  }
  return usage;
}

/**
 * CPU (% of one core) and memory per name between two snapshots. A process that started in between counts
 * from zero; one that ended in between is left out (its last CPU time is unknown).
 */
export function usageBetween(before: Usage, after: Usage, seconds: number) {
  const byName: Record<string, { cpu_percent: number; rss_mib: number }> = {};
  for (const [pid, now] of after) {
    const sum = (byName[now.name] ??= { cpu_percent: 0, rss_mib: 0 });
    sum.cpu_percent += ((now.cpu_s - (before.get(pid)?.cpu_s ?? 0)) / seconds) * 100;
    sum.rss_mib += now.rss_mib;
  }
  for (const sum of Object.values(byName)) {
    sum.cpu_percent = Math.round(sum.cpu_percent);
    sum.rss_mib = Math.round(sum.rss_mib);
  }
  return byName;
}

/** CPU seconds per name between two snapshots, unrounded (for CPU per delivery); counted as usageBetween does. */
export function cpuSecondsBetween(before: Usage, after: Usage): Record<string, number> {
  const byName: Record<string, number> = {};
  for (const [pid, now] of after) byName[now.name] = (byName[now.name] ?? 0) + now.cpu_s - (before.get(pid)?.cpu_s ?? 0);
  return byName;
}

// ---- projector metrics ----

export type ProjectorMetrics = { events: number; rows: number; lagBuckets: { le: number; count: number }[]; consumerLag: number };

export async function projectorMetrics(): Promise<ProjectorMetrics> {
  const text = await (await fetch(`${PROJECTOR}/metrics`)).text();
  const sum = (pattern: RegExp) => [...text.matchAll(pattern)].reduce((total, match) => total + Number(match[1]), 0);
  return {
    events: sum(/^hookpost_projected_events_total\{.*\} (\d+)$/gm),
    rows: sum(/^hookpost_projected_rows_total\{.*\} (\d+)$/gm),
    lagBuckets: [...text.matchAll(/^hookpost_projection_lag_seconds_bucket\{.*le="([^"]+)".*\} (\d+)$/gm)].map((m) => ({
      le: m[1] === '+Inf' ? Infinity : Number(m[1]),
      count: Number(m[2]),
    })),
    consumerLag: sum(/^hookpost_kafka_consumer_lag_messages\{.*\} (\d+)$/gm),
  };
}

/** Messages the dispatchers' consumer group has not finished (the dispatcher reports its group's lag). */
export async function dispatcherLag(): Promise<number> {
  const text = await (await fetch(`${DISPATCHER}/metrics`)).text();
  return [...text.matchAll(/^hookpost_kafka_consumer_lag_messages\{.*\} (\d+)$/gm)].reduce((total, match) => total + Number(match[1]), 0);
}

/** The dispatcher's rate-limited attempts so far, by outcome ('at once', 'waited', 'deferred', 'limiter unreachable'). */
export async function rateLimitedAttempts(): Promise<Record<string, number>> {
  const text = await (await fetch(`${DISPATCHER}/metrics`)).text();
  const counts: Record<string, number> = {};
  for (const match of text.matchAll(/^hookpost_rate_limited_attempts_total\{[^}]*outcome="([^"]+)"[^}]*\} (\d+)$/gm)) counts[match[1]!] = Number(match[2]);
  return counts;
}

/** p50/p99 projection lag between two scrapes, as the upper bound of the histogram bucket they fall in. */
export function lagBetween(before: ProjectorMetrics, after: ProjectorMetrics) {
  const buckets = after.lagBuckets.map((bucket, index) => ({ le: bucket.le, count: bucket.count - (before.lagBuckets[index]?.count ?? 0) }));
  const total = buckets[buckets.length - 1]?.count ?? 0;
  const at = (p: number) => (total === 0 ? null : (buckets.find((bucket) => bucket.count >= total * p)?.le ?? null));
  return { lag_p50_s_at_most: at(0.5), lag_p99_s_at_most: at(0.99), events: total };
}

// ---- services ----

/**
 * The settings npm start gives the services, for one more started by the bench: the same master key too
 * (HOOKPOST_SECRET_KEYS, or the checkout's .hookpost/secret-keys), or it could not open what they sealed.
 */
export function serviceEnv(): Record<string, string> {
  return {
    HOOKPOST_API_KEYS: process.env.HOOKPOST_API_KEYS ?? KEY,
    HOOKPOST_SECRET_KEYS: process.env.HOOKPOST_SECRET_KEYS || readFileSync(path.join(STATE, 'secret-keys'), 'utf8').trim(),
    HOOKPOST_ALLOWED_TARGET_CIDRS: process.env.HOOKPOST_ALLOWED_TARGET_CIDRS ?? '127.0.0.1/32',
  };
}

export function signalService(name: string, signal: NodeJS.Signals): void {
  const pid = servicePid(name);
  if (!pid) throw new Error(`no pid file for ${name}: start the stack with npm start`);
  process.kill(pid, signal);
}
