import { randomBytes } from 'node:crypto';
import { apiClient } from '../support/api';
import { OtlpReceiver, type ReceivedSpan } from '../support/otlpReceiver';
import { spawnService, type ServiceProcess } from '../support/processes';
import { withReadModel } from '../support/readModel';
import { Receiver } from '../support/receiver';
import { removeRunResources, runEnv, TEST_API_KEY } from '../support/stack';
import { eventually } from '../support/wait';

jest.setTimeout(120_000);

// The three services as separate processes, started the way npm start starts them (with the telemetry
// loader), exporting every span to an OTLP receiver started here; their log output is kept too.
const run = runEnv({
  OTEL_EXPORTER_OTLP_PROTOCOL: 'http/json',
  OTEL_BSP_SCHEDULE_DELAY: '100',
  OTEL_METRICS_EXPORTER: 'none',
  OTEL_LOGS_EXPORTER: 'none',
});
let otlp: OtlpReceiver;
let receiver: Receiver;
const services: ServiceProcess[] = [];
const logs: string[] = [];
let gatewayUrl: string;

beforeAll(async () => {
  otlp = await OtlpReceiver.start();
  receiver = await Receiver.start();
  const env = { ...run.env, OTEL_EXPORTER_OTLP_ENDPOINT: otlp.endpoint };
  const keepLogs = (service: ServiceProcess) => {
    service.child.stdout!.on('data', (chunk: Buffer) => logs.push(chunk.toString('utf8')));
    service.child.stderr!.on('data', (chunk: Buffer) => logs.push(chunk.toString('utf8')));
    services.push(service);
    return service;
  };
  const projector = keepLogs(await spawnService('projector', env));
  const withProjector = { ...env, PROJECTOR_URL: `http://127.0.0.1:${projector.port}` };
  keepLogs(await spawnService('dispatcher', withProjector));
  gatewayUrl = `http://127.0.0.1:${keepLogs(await spawnService('gateway', withProjector)).port}`;
});

afterAll(async () => {
  for (const service of services.reverse()) await service.stop();
  await receiver?.stop();
  await otlp?.stop();
  await removeRunResources({ topicPrefix: run.topicPrefix, schema: run.schema, redisPrefix: run.env.HOOKPOST_REDIS_PREFIX!, env: run.env });
});

const probe = (what: string) => `${what}${randomBytes(12).toString('hex')}`;

describe('telemetry hygiene', () => {
  it('records no secret, sealed value, API key, query string, baggage or tracestate in any span or log, and passes no baggage to the receiver', async () => {
    // Given a caller whose requests carry baggage, a tracestate and its own traceparent
    const secret = probe('probe-secret-');
    const queryToken = probe('querytoken');
    const baggageValue = probe('baggagevalue');
    const traceStateValue = probe('tracestatevalue');
    const callerTraceId = randomBytes(16).toString('hex');
    const api = apiClient(gatewayUrl, {
      authorization: `Bearer ${TEST_API_KEY}`,
      baggage: `user.token=${baggageValue}`,
      tracestate: `caller=${traceStateValue}`,
      traceparent: `00-${callerTraceId}-${randomBytes(8).toString('hex')}-01`,
    });

    // and a receiver that fails the first attempt, so the retry goes through RabbitMQ
    receiver.reply = (_request, n) => (n === 1 ? { status: 503 } : { status: 200 });

    // When it creates a subscription with a secret, to a target URL holding a token in its query string,
    const created = await api('POST', '/subscriptions', { name: 'hygiene', target_url: `${receiver.url}?token=${queryToken}`, secret_key: secret });
    expect(created.status).toBe(201);
    // ingests one webhook that is delivered on its second attempt, and searches with a query string
    const ingested = await api('POST', `/ingest/${created.body.id}`, { event_type: 'order.created', data: { id: 1 } });
    expect(ingested.status).toBe(202);
    const deliveryId = ingested.body.delivery_id as string;
    await eventually(async () => ((await api('GET', `/deliveries/${deliveryId}`)).body?.status === 'succeeded' ? true : undefined), { timeoutMs: 30_000 });
    const searchTerm = probe('searchterm');
    expect((await api('GET', `/deliveries?event_type=${searchTerm}`)).status).toBe(200);
    const sealed = await withReadModel(run.schema, async (client) => (await client.query('SELECT secret FROM subscriptions WHERE id = $1', [created.body.id])).rows[0]?.secret as string);
    expect(sealed).toBeTruthy();
    expect(sealed).not.toContain(secret);

    // Then the receiver got the token (it is the subscriber's URL) and the trace, but no baggage or tracestate
    expect(receiver.requests).toHaveLength(2);
    for (const delivered of receiver.requests) {
      expect(delivered.url).toBe(`/webhook?token=${queryToken}`);
      expect(delivered.headers.baggage).toBeUndefined();
      expect(delivered.headers.tracestate).toBeUndefined();
      expect(String(delivered.headers.traceparent).split('-')[1]).toBe(callerTraceId);
    }

    // once every service has exported the spans of the run: the gateway's requests, the Redis commands,
    // the webhook attempt and its POST, and the projector's work
    const all = () => otlp.spans;
    const webhookPost = () => all().find((span) => span.service === 'hookpost-dispatcher' && span.kind === 3 && span.attributes['server.port'] === Number(new URL(receiver.url).port));
    await eventually(
      async () =>
        webhookPost() &&
        all().filter((span) => span.name === 'webhook attempt').length === 2 &&
        all().some((span) => span.attributes['messaging.system'] === 'rabbitmq') &&
        all().some((span) => span.attributes['db.system.name'] === 'redis' && span.attributes['db.operation.name'] === 'EVAL') &&
        all().some((span) => span.service === 'hookpost-projector' && span.attributes['db.system.name'] === 'postgresql') &&
        all().some((span) => span.service === 'hookpost-gateway' && span.attributes['url.path'] === '/deliveries')
          ? true
          : undefined,
      { what: 'the spans to be exported', timeoutMs: 20_000 },
    );
    // (wait out one more export, for spans that ended with the last ones seen)
    await new Promise((resolve) => setTimeout(resolve, 500));

    const forbidden: Record<string, string> = {
      'the endpoint secret': secret,
      'the sealed secret': sealed,
      'the sealed secret body': sealed.slice(-24),
      'the API key': TEST_API_KEY,
      'the query token': queryToken,
      'the search term': searchTerm,
      'the baggage value': baggageValue,
      'the tracestate value': traceStateValue,
    };
    const leaks = (text: string) => Object.entries(forbidden).filter(([, value]) => text.includes(value)).map(([name]) => name);
    const attributeLeaks = (span: ReceivedSpan) =>
      Object.entries(span.attributes).flatMap(([key, value]) => leaks(String(value)).map((name) => `${span.service} "${span.name}" ${key}: ${name}`));
    expect(all().flatMap(attributeLeaks)).toEqual([]);
    // nor anywhere else in what was exported (span events, status messages, links, resource)
    expect(otlp.bodies.flatMap(leaks)).toEqual([]);
    // nor in any log line
    expect(logs.join('').split('\n').flatMap((line) => leaks(line).map((name) => `${name} in ${line.slice(0, 200)}`))).toEqual([]);

    // and what is recorded is there, without the parts that could hold a secret
    expect(webhookPost()!.attributes['url.full']).toBe(receiver.url);
    expect(all().filter((span) => 'url.query' in span.attributes)).toEqual([]);
    // (no URL-valued attribute holds userinfo or a query string: the RabbitMQ URL's user name included)
    const urlValues = all().flatMap((span) => Object.values(span.attributes).filter((value): value is string => typeof value === 'string' && /^[a-z][a-z0-9+.-]*:\/\//i.test(value)));
    expect(urlValues.filter((url) => /^[^/]*\/\/[^/]*@|[?#]/.test(url))).toEqual([]);
    expect(urlValues.some((url) => url.startsWith('amqp://'))).toBe(true);
    const redisStatements = new Set(all().filter((span) => span.attributes['db.system.name'] === 'redis' && 'db.query.text' in span.attributes).map((span) => String(span.attributes['db.query.text'])));
    expect(redisStatements.has('EVAL')).toBe(true);
    expect([...redisStatements].filter((statement) => !/^[A-Z.]+$/i.test(statement))).toEqual([]);
    expect(all().some((span) => span.traceId === callerTraceId && span.name === 'webhook attempt')).toBe(true);
  });
});
