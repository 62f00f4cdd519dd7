import { Agent, errors as undiciErrors } from 'undici';
import type { AttemptResult } from '../delivery/classifyResponse';

export type EndpointResponse = {
  result: AttemptResult;
  duration_ms: number;
  response_headers: Record<string, string> | null;
  response_body: string | null;
};

const RESPONSE_BODY_CAP = 4_096;
const RESPONSE_HEADERS_CAP = 4_096;

/** PostgreSQL text cannot hold U+0000; the record keeps everything else of what the endpoint said. */
function printable(text: string): string {
  return text.replace(/\u0000/g, '\uFFFD');
}

function cappedHeaders(headers: Record<string, string | string[] | undefined>): Record<string, string> {
  const kept: Record<string, string> = {};
  let size = 0;
  for (const [name, value] of Object.entries(headers)) {
    if (value === undefined) continue;
    const text = printable(Array.isArray(value) ? value.join(', ') : value).slice(0, 1_024);
    size += name.length + text.length;
    if (size > RESPONSE_HEADERS_CAP) break;
    kept[name] = text;
  }
  return kept;
}

function describeNetworkError(error: unknown, timeoutMs: number): string {
  const err = error as { code?: string; name?: string; message?: string; cause?: { code?: string } };
  const code = err.code ?? err.cause?.code;
  if (err.name === 'TimeoutError' || error instanceof undiciErrors.HeadersTimeoutError || error instanceof undiciErrors.BodyTimeoutError) {
    return `timed out after ${timeoutMs} ms`;
  }
  switch (code) {
    case 'ECONNREFUSED':
      return 'connection refused';
    case 'ECONNRESET':
    case 'UND_ERR_SOCKET':
      return 'connection reset';
    case 'ENOTFOUND':
    case 'EAI_AGAIN':
      return 'host not found';
    case 'UND_ERR_CONNECT_TIMEOUT':
      return `connect timed out after ${timeoutMs} ms`;
    default:
      return `network error: ${code ?? err.message ?? 'unknown'}`.slice(0, 500);
  }
}

/**
 * POSTs a signed webhook. Redirects are not followed (a 3xx is the answer); the response body is read up to
 * a few KiB for the attempt log, then dropped. One keep-alive agent is shared across endpoints.
 */
export class HttpEndpointClient {
  private readonly agent: Agent;

  constructor(options: { connectionsPerOrigin?: number } = {}) {
    this.agent = new Agent({ connections: options.connectionsPerOrigin ?? 64, keepAliveTimeout: 10_000, pipelining: 1 });
  }

  async post(url: string, headers: Record<string, string>, body: string, timeoutMs: number): Promise<EndpointResponse> {
    const started = performance.now();
    const elapsed = () => Math.round(performance.now() - started);
    try {
      const response = await this.agent.request({
        origin: new URL(url).origin,
        path: new URL(url).pathname + new URL(url).search,
        method: 'POST',
        headers,
        body,
        headersTimeout: timeoutMs,
        bodyTimeout: timeoutMs,
        signal: AbortSignal.timeout(timeoutMs),
      });
      let text = '';
      try {
        for await (const chunk of response.body) {
          text += (chunk as Buffer).toString('utf8');
          if (text.length >= RESPONSE_BODY_CAP) break;
        }
      } catch {
        // The status is what counts; a body cut short is recorded as far as it came.
      } finally {
        if (!response.body.destroyed) response.body.destroy();
      }
      const retryAfter = response.headers['retry-after'];
      return {
        result: { kind: 'response', statusCode: response.statusCode, retryAfter: Array.isArray(retryAfter) ? retryAfter[0] : retryAfter },
        duration_ms: elapsed(),
        response_headers: cappedHeaders(response.headers),
        response_body: printable(text.slice(0, RESPONSE_BODY_CAP)),
      };
    } catch (error) {
      return {
        result: { kind: 'network-error', error: describeNetworkError(error, timeoutMs) },
        duration_ms: elapsed(),
        response_headers: null,
        response_body: null,
      };
    }
  }

  close(): Promise<void> {
    return this.agent.close();
  }
}
