import { defaultTextMapGetter, defaultTextMapSetter, ROOT_CONTEXT, trace } from '@opentelemetry/api';
import { TraceparentOnlyPropagator, withoutSecrets } from '../src/hygiene';

describe('TraceparentOnlyPropagator', () => {
  const propagator = new TraceparentOnlyPropagator();
  const traceparent = '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01';

  it('continues the caller’s trace, but neither reads nor passes on its baggage or tracestate', () => {
    // Given an incoming request with a traceparent, a tracestate and baggage
    const incoming = { traceparent, tracestate: 'vendor=opaque-value', baggage: 'user.token=secret-value' };

    // When it is extracted and the context injected into an outgoing request
    const context = propagator.extract(ROOT_CONTEXT, incoming, defaultTextMapGetter);
    const outgoing: Record<string, string> = {};
    propagator.inject(context, outgoing, defaultTextMapSetter);

    // Then only the traceparent travels on
    expect(trace.getSpanContext(context)).toMatchObject({ traceId: '0af7651916cd43dd8448eb211c80319c', isRemote: true });
    expect(trace.getSpanContext(context)?.traceState).toBeUndefined();
    expect(outgoing).toEqual({ traceparent });
    expect(propagator.fields()).toEqual(['traceparent']);
  });

  it('injects nothing when there is no trace', () => {
    const outgoing: Record<string, string> = {};
    propagator.inject(ROOT_CONTEXT, outgoing, defaultTextMapSetter);
    expect(outgoing).toEqual({});
  });
});

describe('withoutSecrets', () => {
  it.each([
    ['https://hooks.example.com/in?token=abc&x=1#frag', 'https://hooks.example.com/in'],
    ['https://user:pass@hooks.example.com:8443/in', 'https://hooks.example.com:8443/in'],
    ['amqp://hookpost:***@127.0.0.1:5672', 'amqp://127.0.0.1:5672'],
    ['http://127.0.0.1:8001/internal/subscriptions/1', 'http://127.0.0.1:8001/internal/subscriptions/1'],
  ])('records %s as %s', (url, recorded) => {
    expect(withoutSecrets(url)).toBe(recorded);
  });

  it('records nothing of what does not parse as a URL', () => {
    expect(withoutSecrets('not a url?token=abc')).toBeUndefined();
  });
});
