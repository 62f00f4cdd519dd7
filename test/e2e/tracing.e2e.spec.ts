import { apiClient } from '../support/api';
import { OtlpReceiver, type ReceivedSpan } from '../support/otlpReceiver';
import { spawnStack, type SpawnedStack } from '../support/processes';
import { Receiver } from '../support/receiver';
import { removeRunResources, runEnv, TEST_API_KEY } from '../support/stack';
import { eventually } from '../support/wait';

jest.setTimeout(120_000);

// The three services as separate processes, exporting to an OTLP receiver started here.
const run = runEnv({
  OTEL_EXPORTER_OTLP_PROTOCOL: 'http/json',
  OTEL_BSP_SCHEDULE_DELAY: '100',
  OTEL_METRICS_EXPORTER: 'none',
  OTEL_LOGS_EXPORTER: 'none',
});
let otlp: OtlpReceiver;
let receiver: Receiver;
let stack: SpawnedStack | undefined;
let api: ReturnType<typeof apiClient>;

beforeAll(async () => {
  otlp = await OtlpReceiver.start();
  receiver = await Receiver.start();
  stack = await spawnStack({ ...run.env, OTEL_EXPORTER_OTLP_ENDPOINT: otlp.endpoint });
  api = apiClient(stack.baseUrl, { authorization: `Bearer ${TEST_API_KEY}` });
});

afterAll(async () => {
  await stack?.stop();
  await receiver?.stop();
  await otlp?.stop();
  await removeRunResources({ topicPrefix: run.topicPrefix, schema: run.schema, redisPrefix: run.env.HOOKPOST_REDIS_PREFIX!, env: run.env });
});

describe('one trace per webhook', () => {
  it('covers the ingest request, both attempts of a retried delivery, the endpoint and the projector', async () => {
    // Given a receiver that fails the first attempt
    receiver.reply = (_request, n) => (n === 1 ? { status: 503 } : { status: 200 });
    const created = await api('POST', '/subscriptions', { name: 'traced', target_url: receiver.url });
    expect(created.status).toBe(201);

    // When one webhook is ingested and delivered on its second attempt
    const ingested = await api('POST', `/ingest/${created.body.id}`, { event_type: 'order.created', data: { id: 1 } });
    expect(ingested.status).toBe(202);
    const deliveryId = ingested.body.delivery_id as string;
    await eventually(async () => ((await api('GET', `/deliveries/${deliveryId}`)).body?.status === 'succeeded' ? true : undefined), { timeoutMs: 30_000 });

    // Then both POSTs carried a traceparent of one trace
    expect(receiver.requests).toHaveLength(2);
    const traceparents = receiver.requests.map((request) => String(request.headers.traceparent));
    const traceIds = traceparents.map((header) => header.split('-')[1]);
    expect(traceIds[0]).toMatch(/^[0-9a-f]{32}$/);
    expect(traceIds[1]).toBe(traceIds[0]);
    const traceId = traceIds[0]!;

    // and that trace holds the gateway, two attempts in the dispatcher, and the projector
    const inTrace = () => otlp.spans.filter((span) => span.traceId === traceId);
    const attemptSpans = () => inTrace().filter((span) => span.name === 'webhook attempt');
    await eventually(async () => (attemptSpans().length === 2 && inTrace().some((s) => s.service === 'hookpost-projector') ? true : undefined), {
      what: 'the spans to be exported',
      timeoutMs: 20_000,
    });
    const spans = inTrace();
    expect(new Set(spans.map((span) => span.service))).toEqual(new Set(['hookpost-gateway', 'hookpost-dispatcher', 'hookpost-projector']));
    const byId = new Map(spans.map((span) => [span.spanId, span]));
    const attempts = attemptSpans().sort((a, b) => Number(a.attributes['hookpost.attempt_number']) - Number(b.attributes['hookpost.attempt_number']));
    expect(attempts.map((span) => [span.attributes['hookpost.attempt_number'], span.attributes['http.response.status_code']])).toEqual([
      [1, 503],
      [2, 200],
    ]);
    for (const span of attempts) {
      expect(span.attributes).toMatchObject({ 'hookpost.delivery_id': deliveryId, 'hookpost.subscription_id': created.body.id });
    }

    // with the right parentage: ingest request → Kafka publish → dispatcher's consume → first attempt
    const ancestors = (span: ReceivedSpan) => {
      const chain: ReceivedSpan[] = [];
      for (let current = span.parentSpanId ? byId.get(span.parentSpanId) : undefined; current; current = current.parentSpanId ? byId.get(current.parentSpanId) : undefined) {
        chain.push(current);
      }
      return chain;
    };
    const firstChain = ancestors(attempts[0]!);
    expect(firstChain[0]).toMatchObject({ service: 'hookpost-dispatcher', name: expect.stringMatching(/hookpost\.webhooks process$/) });
    expect(firstChain[1]).toMatchObject({ service: 'hookpost-gateway', name: expect.stringMatching(/hookpost\.webhooks publish$/) });
    expect(firstChain.some((span) => span.service === 'hookpost-gateway' && /POST/.test(span.name))).toBe(true);
    // the second attempt descends from the first (its retry went through RabbitMQ in the same trace)
    expect(ancestors(attempts[1]!).some((span) => span.spanId === attempts[0]!.spanId)).toBe(true);
    // the endpoint's traceparent names a span of the attempt that made the request
    const secondParent = byId.get(traceparents[1]!.split('-')[2]!);
    expect(secondParent?.service).toBe('hookpost-dispatcher');
    expect([secondParent, ...ancestors(secondParent!)].some((span) => span?.spanId === attempts[1]!.spanId)).toBe(true);
    // and the projector's spans hang off the events' publishers
    const projectorSpan = spans.find((span) => span.service === 'hookpost-projector' && span.name.startsWith('project '));
    expect(projectorSpan && byId.get(projectorSpan.parentSpanId ?? '')?.name).toMatch(/publish$/);
  });
});
