import { apiClient } from '../support/api';
import { findTraces, jaegerExporterEnv, jaegerServices, startJaeger, tagOf, type JaegerSpan, type JaegerTrace, type RunningJaeger } from '../support/jaeger';
import { isLoopback, tcpListeners } from '../support/listeners';
import { spawnStack, type SpawnedStack } from '../support/processes';
import { Receiver } from '../support/receiver';
import { removeRunResources, runEnv, TEST_API_KEY } from '../support/stack';
import { eventually } from '../support/wait';

jest.setTimeout(120_000);

/**
 * Jaeger v2 as `HOOKPOST_JAEGER=1 npm start` runs it (the binary built from the Go module proxy, the project's
 * configuration; here on free loopback ports so a running one is left alone), the three services as separate
 * processes exporting to it as npm start makes them, and a webhook found again through Jaeger's query API.
 */
const run = runEnv({ OTEL_BSP_SCHEDULE_DELAY: '100' });
let jaeger: RunningJaeger;
let receiver: Receiver;
let stack: SpawnedStack | undefined;
let api: ReturnType<typeof apiClient>;

beforeAll(async () => {
  jaeger = await startJaeger();
  receiver = await Receiver.start();
  stack = await spawnStack({ ...run.env, ...jaegerExporterEnv(jaeger.otlpHttpEndpoint) });
  api = apiClient(stack.baseUrl, { authorization: `Bearer ${TEST_API_KEY}` });
});

afterAll(async () => {
  await stack?.stop();
  await receiver?.stop();
  await jaeger?.stop();
  await removeRunResources({ topicPrefix: run.topicPrefix, schema: run.schema, redisPrefix: run.env.HOOKPOST_REDIS_PREFIX!, env: run.env });
});

describe('Jaeger without Docker', () => {
  it('holds one trace per webhook, found by its delivery id: the gateway, both attempts (the retry under the first) and the projector', async () => {
    // Given a receiver that fails the first attempt
    receiver.reply = (_request, n) => (n === 1 ? { status: 503 } : { status: 200 });
    const created = await api('POST', '/subscriptions', { name: 'traced in jaeger', target_url: receiver.url });
    expect(created.status).toBe(201);

    // When one webhook is ingested and delivered on its second attempt
    const ingested = await api('POST', `/ingest/${created.body.id}`, { event_type: 'order.created', data: { id: 1 } });
    expect(ingested.status).toBe(202);
    const deliveryId = ingested.body.delivery_id as string;
    await eventually(async () => ((await api('GET', `/deliveries/${deliveryId}`)).body?.status === 'succeeded' ? true : undefined), { timeoutMs: 30_000 });
    expect(receiver.requests).toHaveLength(2);

    // Then Jaeger's query API finds the delivery by its id, in one trace that holds all of it
    const serviceOf = (trace: JaegerTrace, span: JaegerSpan) => trace.processes[span.processID]?.serviceName;
    const attemptsIn = (trace: JaegerTrace) => trace.spans.filter((span) => span.operationName === 'webhook attempt');
    const found = await eventually(
      async () => {
        const traces = await findTraces(jaeger.queryUrl, 'hookpost-dispatcher', { 'hookpost.delivery_id': deliveryId });
        const complete = traces.length === 1 && attemptsIn(traces[0]!).length === 2 && traces[0]!.spans.some((span) => serviceOf(traces[0]!, span) === 'hookpost-projector');
        return complete ? traces : undefined;
      },
      { what: 'the trace in Jaeger', timeoutMs: 20_000 },
    );
    expect(found).toHaveLength(1);
    const trace = found[0]!;
    // (the trace whose context both webhook requests carried)
    expect(receiver.requests.map((request) => String(request.headers.traceparent).split('-')[1])).toEqual([trace.traceID, trace.traceID]);
    expect(new Set(trace.spans.map((span) => serviceOf(trace, span)))).toEqual(new Set(['hookpost-gateway', 'hookpost-dispatcher', 'hookpost-projector']));

    // with both attempts of the delivery, the first answered 503 and the second 200
    const attempts = attemptsIn(trace).sort((a, b) => Number(tagOf(a, 'hookpost.attempt_number')) - Number(tagOf(b, 'hookpost.attempt_number')));
    expect(attempts.map((span) => [serviceOf(trace, span), tagOf(span, 'hookpost.delivery_id'), tagOf(span, 'hookpost.attempt_number'), tagOf(span, 'http.response.status_code')])).toEqual([
      ['hookpost-dispatcher', deliveryId, 1, 503],
      ['hookpost-dispatcher', deliveryId, 2, 200],
    ]);

    // and the parentage Jaeger shows: the gateway's ingest request and publish above the first attempt, the
    // second attempt below the first (its retry went through RabbitMQ in the same trace)
    const byId = new Map(trace.spans.map((span) => [span.spanID, span]));
    const parentOf = (span: JaegerSpan) => byId.get(span.references.find((reference) => reference.refType === 'CHILD_OF')?.spanID ?? '');
    const ancestors = (span: JaegerSpan) => {
      const chain: JaegerSpan[] = [];
      for (let current = parentOf(span); current; current = parentOf(current)) chain.push(current);
      return chain;
    };
    const aboveFirst = ancestors(attempts[0]!);
    expect(aboveFirst.some((span) => serviceOf(trace, span) === 'hookpost-gateway' && /publish$/.test(span.operationName))).toBe(true);
    expect(aboveFirst.some((span) => serviceOf(trace, span) === 'hookpost-gateway' && /^POST/.test(span.operationName))).toBe(true);
    expect(ancestors(attempts[1]!).map((span) => span.spanID)).toContain(attempts[0]!.spanID);
    // and the projector's spans in the same tree, under the events' publishers
    const projected = trace.spans.find((span) => serviceOf(trace, span) === 'hookpost-projector' && span.operationName.startsWith('project '));
    expect(projected && parentOf(projected)?.operationName).toMatch(/publish$/);
    // and nothing but ours in it: Jaeger does not trace its own query API (v2 does by default)
    await new Promise((resolve) => setTimeout(resolve, 1_000)); // (its SDK would have exported by now)
    expect((await jaegerServices(jaeger.queryUrl)).sort()).toEqual(['hookpost-dispatcher', 'hookpost-gateway', 'hookpost-projector']);
  });

  it('listens on 127.0.0.1 only, on the four ports of its configuration and no other', () => {
    // Given the Jaeger started with the configuration npm start uses
    const own = tcpListeners().filter((listener) => listener.pids.includes(jaeger.child.pid!));

    // Then every listener it holds is on loopback: OTLP gRPC and HTTP, the query API over HTTP and gRPC
    expect(own.filter((listener) => !isLoopback(listener.address)).map((listener) => `${listener.address}:${listener.port}`)).toEqual([]);
    expect(own.map((listener) => listener.port).sort((a, b) => a - b)).toEqual(Object.values(jaeger.ports).sort((a, b) => a - b));
  });
});
