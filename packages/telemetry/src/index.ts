import { NodeSDK } from '@opentelemetry/sdk-node';
import { getNodeAutoInstrumentations } from '@opentelemetry/auto-instrumentations-node';
import { hygienicInstrumentationConfig, TraceparentOnlyPropagator } from './hygiene';

let sdk: NodeSDK | undefined;

function configured(env: NodeJS.ProcessEnv): boolean {
  if (env.OTEL_SDK_DISABLED === 'true' || env.OTEL_TRACES_EXPORTER === 'none') return false;
  return Boolean(env.OTEL_EXPORTER_OTLP_ENDPOINT || env.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT);
}

/** The service name from OTEL_SERVICE_NAME, else from the entry point's path (services/<name>/...). */
function serviceName(): string {
  const entry = process.argv[1] ?? '';
  const match = /services[\\/]([a-z-]+)[\\/]/.exec(entry);
  return `hookpost-${match?.[1] ?? 'service'}`;
}

export function startTelemetry(env: NodeJS.ProcessEnv = process.env): boolean {
  if (sdk || !configured(env)) return false;
  env.OTEL_SERVICE_NAME ??= serviceName();
  sdk = new NodeSDK({
    // Ours rather than OTEL_PROPAGATORS: a request's baggage and tracestate are not passed on (see hygiene.ts).
    textMapPropagator: new TraceparentOnlyPropagator(),
    instrumentations: [
      getNodeAutoInstrumentations({
        '@opentelemetry/instrumentation-fs': { enabled: false },
        '@opentelemetry/instrumentation-dns': { enabled: false },
        '@opentelemetry/instrumentation-net': { enabled: false },
        // Our event log coalesces many callers' appends into one sendBatch and our consumers work in
        // batches: it makes its own producer and per-message consumer spans (packages/platform/src/kafka.ts),
        // where the kafkajs instrumentation would parent every message on the first caller's span.
        '@opentelemetry/instrumentation-kafkajs': { enabled: false },
        ...hygienicInstrumentationConfig,
      }),
    ],
  });
  sdk.start();
  const shutdown = () => void sdk?.shutdown().catch(() => undefined);
  process.once('beforeExit', shutdown);
  return true;
}

export async function stopTelemetry(): Promise<void> {
  await sdk?.shutdown();
  sdk = undefined;
}
