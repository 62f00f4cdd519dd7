import { trace, type Attributes, type Context, type Span, type TextMapGetter, type TextMapPropagator, type TextMapSetter } from '@opentelemetry/api';
import { core } from '@opentelemetry/sdk-node';
import type { getNodeAutoInstrumentations } from '@opentelemetry/auto-instrumentations-node';

/**
 * What the instrumentations may record. Spans go to whoever runs the collector, so they carry no sealed
 * value, credential, query string or userinfo:
 * - Redis: the command name only. The default serializer writes every argument of EVAL, and our cache
 *   writes go through EVAL with the subscription (its sealed secret included) as an argument.
 * - HTTP and undici: URLs without userinfo, query string or fragment (target URLs often carry a token);
 *   no `url.query` attribute at all.
 * - RabbitMQ: the broker's URL without its user name (the instrumentation already masks the password).
 * - PostgreSQL: the statement with its placeholders, never the values bound to them.
 * - Our own attributes (packages/platform/src/kafka.ts, services/dispatcher/src/dispatcher.ts) are ids,
 *   offsets, counts and status codes.
 */

/** `url` with no userinfo, query string or fragment; what cannot be parsed is not recorded at all. */
export function withoutSecrets(url: string): string | undefined {
  try {
    const parsed = new URL(url);
    parsed.username = '';
    parsed.password = '';
    parsed.search = '';
    parsed.hash = '';
    return parsed.toString();
  } catch {
    return undefined;
  }
}

/** Rewrites URL-valued attributes an instrumentation set at the start of `span` (the SDK's spans are readable). */
function scrubUrlAttributes(span: Span, keys: readonly string[]): void {
  const attributes = (span as Partial<{ attributes: Attributes }>).attributes;
  for (const key of keys) {
    const value = attributes?.[key];
    // (setAttribute cannot remove one: a URL that does not parse is replaced by a placeholder)
    if (typeof value === 'string') span.setAttribute(key, withoutSecrets(value) ?? '(not recorded)');
  }
}

type InstrumentationConfigs = NonNullable<Parameters<typeof getNodeAutoInstrumentations>[0]>;

export const hygienicInstrumentationConfig: InstrumentationConfigs = {
  '@opentelemetry/instrumentation-redis': { dbStatementSerializer: (command) => command },
  '@opentelemetry/instrumentation-ioredis': { dbStatementSerializer: (command) => command },
  '@opentelemetry/instrumentation-pg': { enhancedDatabaseReporting: false },
  '@opentelemetry/instrumentation-http': {
    // Undefined removes the attribute: the SDK drops attributes without a value.
    startIncomingSpanHook: () => ({ 'url.query': undefined }),
    // Our outgoing HTTP goes through undici (fetch and the webhook agent), instrumented below; the http
    // module's client spans would record url.full with the query string.
    disableOutgoingRequestInstrumentation: true,
  },
  '@opentelemetry/instrumentation-undici': {
    startSpanHook: (request) => ({ 'url.full': withoutSecrets(new URL(request.path, request.origin).toString()), 'url.query': undefined }),
  },
  '@opentelemetry/instrumentation-amqplib': {
    publishHook: (span) => scrubUrlAttributes(span, ['messaging.url']),
    consumeHook: (span) => scrubUrlAttributes(span, ['messaging.url']),
  },
};

/**
 * W3C trace context without what a caller may put in it for someone else. An incoming `baggage` header is
 * never read, so it is never written on to Kafka, RabbitMQ or a receiver; nor is `tracestate`. The
 * `traceparent` stays — on webhook requests too — so a receiver can join the trace: it holds only the
 * random trace and span ids and the sampled flag.
 */
export class TraceparentOnlyPropagator implements TextMapPropagator {
  private readonly w3c = new core.W3CTraceContextPropagator();

  inject(context: Context, carrier: unknown, setter: TextMapSetter): void {
    this.w3c.inject(withoutTraceState(context), carrier, setter);
  }

  extract(context: Context, carrier: unknown, getter: TextMapGetter): Context {
    return withoutTraceState(this.w3c.extract(context, carrier, getter));
  }

  fields(): string[] {
    return ['traceparent'];
  }
}

function withoutTraceState(context: Context): Context {
  const spanContext = trace.getSpanContext(context);
  if (!spanContext?.traceState) return context;
  return trace.setSpanContext(context, { ...spanContext, traceState: undefined });
}
