import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import net from 'node:net';
import path from 'node:path';

const ROOT = path.resolve(__dirname, '../..');
const STATE = process.env.HOOKPOST_STATE_DIR ?? path.join(ROOT, '.hookpost');
/** Where scripts/lib.sh (ensure_jaeger) builds it; test/globalSetup.ts builds it before the jaeger tier runs. */
export const JAEGER_BIN = path.join(STATE, 'tools', 'bin', 'jaeger');
/** The configuration `HOOKPOST_JAEGER=1 npm start` runs it with. */
export const JAEGER_CONFIG = path.join(ROOT, 'infra', 'jaeger', 'config.yaml');

/** The variables infra/jaeger/config.yaml takes its ports from, with npm start's defaults. */
export const jaegerPortVariables = {
  HOOKPOST_JAEGER_OTLP_GRPC_PORT: 4317,
  HOOKPOST_JAEGER_OTLP_HTTP_PORT: 4318,
  HOOKPOST_JAEGER_QUERY_PORT: 16686,
  HOOKPOST_JAEGER_QUERY_GRPC_PORT: 16685,
} as const;
type JaegerPorts = Record<keyof typeof jaegerPortVariables, number>;

/** What a service exports to Jaeger with besides the endpoint, as scripts/start.sh passes it (infra/jaeger/exporter.env). */
export function jaegerExporterEnv(otlpHttpEndpoint: string): Record<string, string> {
  const env: Record<string, string> = { OTEL_EXPORTER_OTLP_ENDPOINT: otlpHttpEndpoint };
  for (const line of readFileSync(path.join(ROOT, 'infra', 'jaeger', 'exporter.env'), 'utf8').split('\n')) {
    const at = line.indexOf('=');
    if (line.startsWith('#') || at <= 0) continue;
    env[line.slice(0, at)] = line.slice(at + 1);
  }
  return env;
}

/** Ports nothing on 127.0.0.1 holds now (held together, so all differ), for a Jaeger beside npm start's. */
async function freePorts(count: number): Promise<number[]> {
  const servers = await Promise.all(
    Array.from({ length: count }, () => new Promise<net.Server>((resolve, reject) => {
      const server = net.createServer();
      server.once('error', reject);
      server.listen(0, '127.0.0.1', () => resolve(server));
    })),
  );
  const ports = servers.map((server) => (server.address() as net.AddressInfo).port);
  await Promise.all(servers.map((server) => new Promise((resolve) => server.close(resolve))));
  return ports;
}

const accepts = (port: number) =>
  new Promise<boolean>((resolve) => {
    const socket = net.connect({ host: '127.0.0.1', port });
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });

export type RunningJaeger = {
  child: ChildProcess;
  ports: JaegerPorts;
  /** OTLP/HTTP, as OTEL_EXPORTER_OTLP_ENDPOINT. */
  otlpHttpEndpoint: string;
  /** The query extension's HTTP API. */
  queryUrl: string;
  stop: () => Promise<void>;
};

/** The built Jaeger with the project's configuration, on free loopback ports; resolves once OTLP and the query API answer. */
export async function startJaeger(): Promise<RunningJaeger> {
  if (!existsSync(JAEGER_BIN)) throw new Error(`no Jaeger at ${JAEGER_BIN}: run the tier with HOOKPOST_TEST_TIERS=jaeger (test/globalSetup.ts builds it) or npm test`);
  const names = Object.keys(jaegerPortVariables) as (keyof typeof jaegerPortVariables)[];
  const free = await freePorts(names.length);
  const ports = Object.fromEntries(names.map((name, i) => [name, free[i]!])) as JaegerPorts;
  const child = spawn(JAEGER_BIN, ['--config', JAEGER_CONFIG], {
    env: {
      ...process.env,
      ...Object.fromEntries(Object.entries(ports).map(([name, port]) => [name, String(port)])),
      // Whatever Jaeger's own OpenTelemetry SDK would export goes where it goes from npm start's Jaeger (the
      // SDK's default, localhost:4317, is that Jaeger itself): into this one, where a test sees it.
      OTEL_EXPORTER_OTLP_ENDPOINT: `http://127.0.0.1:${ports.HOOKPOST_JAEGER_OTLP_GRPC_PORT}`,
      OTEL_BSP_SCHEDULE_DELAY: '100',
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const output: string[] = [];
  child.stdout!.on('data', (chunk: Buffer) => output.push(chunk.toString()));
  child.stderr!.on('data', (chunk: Buffer) => output.push(chunk.toString()));
  const running: RunningJaeger = {
    child,
    ports,
    otlpHttpEndpoint: `http://127.0.0.1:${ports.HOOKPOST_JAEGER_OTLP_HTTP_PORT}`,
    queryUrl: `http://127.0.0.1:${ports.HOOKPOST_JAEGER_QUERY_PORT}`,
    stop: () =>
      new Promise<void>((resolve) => {
        if (child.exitCode !== null || child.signalCode !== null) return resolve();
        child.once('exit', () => resolve());
        child.kill('SIGTERM');
      }),
  };
  const deadline = Date.now() + 30_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`jaeger exited with ${child.exitCode}:\n${output.join('').slice(-4000)}`);
    // (extensions start before receivers: the query API alone answering does not mean OTLP is taken yet)
    const queryAnswers = await fetch(`${running.queryUrl}/api/services`).then((response) => response.ok, () => false);
    if (queryAnswers && (await accepts(ports.HOOKPOST_JAEGER_OTLP_HTTP_PORT))) return running;
    if (Date.now() > deadline) {
      await running.stop();
      throw new Error(`jaeger did not start within 30 s:\n${output.join('').slice(-4000)}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}

/** A span as Jaeger's query API (/api/traces) returns it: OTLP converted to Jaeger's model. */
export type JaegerSpan = {
  traceID: string;
  spanID: string;
  operationName: string;
  /** The parent is a CHILD_OF reference; span links are FOLLOWS_FROM. */
  references: { refType: 'CHILD_OF' | 'FOLLOWS_FROM'; traceID: string; spanID: string }[];
  tags: { key: string; type: string; value: unknown }[];
  processID: string;
};
export type JaegerTrace = { traceID: string; spans: JaegerSpan[]; processes: Record<string, { serviceName: string }> };

/**
 * Traces holding a span of `service` with every one of `tags`, whole (every service's spans). The query
 * extension's /api/traces is the one HTTP search that filters by tag: /api/v3/traces takes no attributes.
 */
export async function findTraces(queryUrl: string, service: string, tags: Record<string, string>): Promise<JaegerTrace[]> {
  // (no start: the last two days)
  const query = new URLSearchParams({ service, tags: JSON.stringify(tags), limit: '20' });
  const response = await fetch(`${queryUrl}/api/traces?${query}`);
  if (!response.ok) throw new Error(`GET /api/traces: ${response.status} ${await response.text()}`);
  return ((await response.json()) as { data: JaegerTrace[] | null }).data ?? [];
}

/** The services Jaeger holds spans of. */
export async function jaegerServices(queryUrl: string): Promise<string[]> {
  const response = await fetch(`${queryUrl}/api/services`);
  if (!response.ok) throw new Error(`GET /api/services: ${response.status} ${await response.text()}`);
  return ((await response.json()) as { data: string[] | null }).data ?? [];
}

export const tagOf = (span: JaegerSpan, key: string) => span.tags.find((tag) => tag.key === key)?.value;
