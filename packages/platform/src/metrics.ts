import type { Admin } from 'kafkajs';
import type { RequestHandler } from 'express';
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

/** GET /metrics in the Prometheus text format. */
export function metricsRoute(registry: Registry): RequestHandler {
  return async (_req, res) => {
    res.type(registry.contentType).send(await registry.metrics());
  };
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

/** Consumer lag per partition of a group: the log's end minus the group's committed offset. */
/** Consumer lag of each group (group id → the topics it consumes). */
export function kafkaLagGauge(registry: Registry, admin: Admin, groups: Record<string, string[]>): void {
  new client.Gauge({
    name: 'hookpost_kafka_consumer_lag_messages',
    help: 'Messages in the log not yet committed by the consumer group',
    labelNames: ['group', 'topic', 'partition'],
    registers: [registry],
    async collect() {
      try {
        for (const [groupId, topics] of Object.entries(groups)) {
          const committed = await admin.fetchOffsets({ groupId, topics });
          for (const { topic, partitions } of committed) {
            const ends = await admin.fetchTopicOffsets(topic);
            for (const { partition, high, low } of ends) {
              const offset = Number(partitions.find((p) => p.partition === partition)?.offset ?? '-1');
              this.set({ group: groupId, topic, partition: String(partition) }, Number(high) - (offset >= 0 ? offset : Number(low)));
            }
          }
        }
      } catch {
        // Kafka unreachable: keep the last values; readiness says the rest.
      }
    },
  });
}
