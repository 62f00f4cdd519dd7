import { trace } from '@opentelemetry/api';
import pino, { type Logger } from 'pino';

export type { Logger };

/** Structured JSON logs. Never pass secrets, API keys or payload bodies: the redact list is a safety net. */
export function createLogger(service: string, level = process.env.LOG_LEVEL ?? 'info', destination?: pino.DestinationStream): Logger {
  const options: pino.LoggerOptions = {
    name: service,
    level,
    base: { service },
    // Every line written inside a span names its trace, so logs and traces find each other.
    mixin() {
      const context = trace.getActiveSpan()?.spanContext();
      return context ? { trace_id: context.traceId, span_id: context.spanId } : {};
    },
    redact: { paths: ['secret', 'secret_key', '*.secret', '*.secret_key', 'authorization', '*.authorization', 'payload', '*.payload'], censor: '[redacted]' },
  };
  return destination ? pino(options, destination) : pino(options);
}
