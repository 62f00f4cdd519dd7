import type { JaegerTrace } from '../ui/deliveryTrace';

/** Jaeger's answer for one delivery: its traces, none yet, or no answer (unreachable, too slow, or an error). */
export type JaegerLookup = { kind: 'found'; traces: JaegerTrace[] } | { kind: 'none' } | { kind: 'unreachable'; reason: string };

/**
 * Jaeger's query API (the v2 query extension's HTTP API, the same as v1's): the traces with a dispatcher span
 * tagged with a delivery id. Only ever the configured base URL (HOOKPOST_JAEGER_URL); nothing from a request
 * but the delivery id (a UUID, checked by the caller) goes into the query, and only as a tag value.
 */
export class JaegerQuery {
  constructor(
    private readonly baseUrl: string,
    private readonly timeoutMs: number,
  ) {}

  async tracesOfDelivery(deliveryId: string): Promise<JaegerLookup> {
    // (/api/traces is the one HTTP search that filters by tag; without start it searches Jaeger's last two days)
    const query = new URLSearchParams({ service: 'hookpost-dispatcher', tags: JSON.stringify({ 'hookpost.delivery_id': deliveryId }), limit: '5' });
    let answer: Response;
    try {
      answer = await fetch(`${this.baseUrl.replace(/\/+$/, '')}/api/traces?${query}`, { headers: { accept: 'application/json' }, signal: AbortSignal.timeout(this.timeoutMs), redirect: 'error' });
    } catch (error) {
      return { kind: 'unreachable', reason: error instanceof Error ? error.message : String(error) };
    }
    // (an unknown service, before the dispatcher exported anything, is a 404 or an empty list depending on the store)
    if (answer.status === 404) return { kind: 'none' };
    if (!answer.ok) return { kind: 'unreachable', reason: `HTTP ${answer.status}` };
    let body: { data?: JaegerTrace[] | null };
    try {
      body = (await answer.json()) as { data?: JaegerTrace[] | null };
    } catch (error) {
      return { kind: 'unreachable', reason: `not JSON: ${error instanceof Error ? error.message : String(error)}` };
    }
    const traces = Array.isArray(body.data) ? body.data.filter((trace) => trace && Array.isArray(trace.spans)) : [];
    return traces.length > 0 ? { kind: 'found', traces } : { kind: 'none' };
  }
}
