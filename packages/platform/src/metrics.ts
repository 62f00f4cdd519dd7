import type { Admin } from 'kafkajs';
import type { RequestHandler } from 'express';
import { createHash, timingSafeEqual } from 'node:crypto';
import client, { type Registry } from 'prom-client';

export { client as prometheus };
export type { Registry };

/** One registry per service, with the process's default metrics (event-loop lag, memory, CPU, GC). */
export function createMetricsRegistry(service: string): Registry {
  const registry = new client.Registry();
  registry.setDefaultLabels({ service });
  client.collectDefaultMetrics({ register: registry, eventLoopMonitoringPrecision: 10 });
  return registry;
}

/**
 * GET /metrics in the Prometheus text format; with `token` set (HOOKPOST_METRICS_TOKEN) only for
 * `Authorization: Bearer <token>`.
 */
export function metricsRoute(registry: Registry, token?: string): RequestHandler {
  const expected = token ? createHash('sha256').update(token).digest() : undefined;
  return async (req, res) => {
    if (expected) {
      const given = /^Bearer\s+(\S+)\s*$/i.exec(req.headers.authorization ?? '')?.[1] ?? '';
      if (!timingSafeEqual(createHash('sha256').update(given).digest(), expected)) {
        res.setHeader('WWW-Authenticate', 'Bearer');
        res.status(401).type('text/plain').send('metrics need Authorization: Bearer <HOOKPOST_METRICS_TOKEN>\n');
        return;
      }
    }
    res.type(registry.contentType).send(await registry.metrics());
  };
}

/**
 * Runs `refresh` at most once every `ms`, whatever calls it: a gauge that asks a broker or the database
 * refreshes on a scrape only when its last value is older than that, so scraping /metrics often never
 * becomes load on them. Concurrent callers share the refresh in flight.
 */
export function atMostEvery(ms: number, refresh: () => Promise<void>): () => Promise<void> {
  let last = 0;
  let running: Promise<void> | undefined;
  return () => {
    if (running) return running;
    if (Date.now() - last < ms) return Promise.resolve();
    last = Date.now();
    running = refresh().finally(() => {
      running = undefined;
    });
    return running;
  };
}

/**
 * Readiness from the last check, re-checked in the background every `ms`: /readyz answers at once and a
 * probe hammering it never reaches the brokers more than that.
 */
export async function cachedReadiness(check: () => Promise<boolean>, ms = 2_000): Promise<{ ready: () => Promise<boolean>; stop: () => void }> {
  let ready = false;
  const run = atMostEvery(ms, async () => {
    ready = await check().catch(() => false);
  });
  await run();
  const timer = setInterval(() => void run(), ms);
  timer.unref();
  return { ready: async () => ready, stop: () => clearInterval(timer) };
}

/** Requests by route (the pattern, not the path), method and status, and their duration. */
export function httpMetrics(registry: Registry): RequestHandler {
  const requests = new client.Counter({ name: 'hookpost_http_requests_total', help: 'HTTP requests answered', labelNames: ['method', 'route', 'status'], registers: [registry] });
  const duration = new client.Histogram({
    name: 'hookpost_http_request_duration_seconds',
    help: 'HTTP request duration',
    labelNames: ['method', 'route'],
    buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
    registers: [registry],
  });
  return (req, res, next) => {
    const started = process.hrtime.bigint();
    res.on('finish', () => {
      const route = (req.route as { path?: string } | undefined)?.path ?? 'unmatched';
      requests.inc({ method: req.method, route, status: String(res.statusCode) });
      duration.observe({ method: req.method, route }, Number(process.hrtime.bigint() - started) / 1e9);
    });
    next();
  };
}

/** Messages a consumer could not read and parked on the dead-letter topic, by the topic they came from. */
export function poisonMessagesCounter(registry: Registry) {
  return new client.Counter({
    name: 'hookpost_poison_messages_total',
    help: 'Unreadable messages parked on the dead-letter topic',
    labelNames: ['topic'],
    registers: [registry],
  });
}

/**
 * Consumer lag per partition of each group (group id → the topics it consumes): the log's end minus the
 * group's committed offset. Asked of Kafka at most once a second, however often /metrics is scraped.
 */
export function kafkaLagGauge(registry: Registry, admin: Admin, groups: Record<string, string[]>): void {
  const gauge = new client.Gauge({
    name: 'hookpost_kafka_consumer_lag_messages',
    help: 'Messages in the log not yet committed by the consumer group',
    labelNames: ['group', 'topic', 'partition'],
    registers: [registry],
    collect: () => refresh(),
  });
  const refresh = atMostEvery(1_000, async () => {
    try {
      for (const [groupId, topics] of Object.entries(groups)) {
        const committed = await admin.fetchOffsets({ groupId, topics });
        for (const { topic, partitions } of committed) {
          const ends = await admin.fetchTopicOffsets(topic);
          for (const { partition, high, low } of ends) {
            const offset = Number(partitions.find((p) => p.partition === partition)?.offset ?? '-1');
            gauge.set({ group: groupId, topic, partition: String(partition) }, Number(high) - (offset >= 0 ? offset : Number(low)));
          }
        }
      }
    } catch {
      // Kafka unreachable: keep the last values; readiness says the rest.
    }
  });
}
