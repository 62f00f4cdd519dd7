import type { LookupAddress } from 'node:dns';
import { Agent, buildConnector, errors as undiciErrors } from 'undici';
import type { Logger, TargetPolicy } from '@hookpost/platform';
import type { AttemptResult } from '../delivery/classifyResponse';
import { caresResolver, DnsFailure, type ResolveAddresses } from './caresResolver';

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
  const dns = causeOfType(error, DnsFailure);
  if (dns) return dns.reason;
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

/** Raised from the connection's DNS lookup when the target resolves to a refused address. */
class TargetRefused extends Error {
  readonly code = 'EHOOKPOST_TARGET_REFUSED';
}

/** The error of class `type` that `error` is or was caused by (undici wraps what the connector raised). */
function causeOfType<T>(error: unknown, type: abstract new (...args: never[]) => T): T | undefined {
  for (let current = error as { cause?: unknown } | undefined; current; current = current.cause as { cause?: unknown } | undefined) {
    if (current instanceof type) return current as T;
  }
  return undefined;
}

type LookupCallback = (error: NodeJS.ErrnoException | null, address: string | LookupAddress[], family?: number) => void;

/**
 * A DNS lookup that checks every address the name resolves to (for connections to `port`) and hands the
 * connection only an allowed one, so the address checked is the address connected to (no DNS rebinding in
 * between). The error a user reads names no address: what an internal name resolves to stays in the
 * debug log.
 */
function pinnedLookup(policy: TargetPolicy, port: number | undefined, resolve: ResolveAddresses, log: Logger | undefined) {
  return (hostname: string, options: { all?: boolean; family?: number }, callback: LookupCallback) => {
    const family = options.family === 4 || options.family === 6 ? options.family : 0;
    resolve(hostname, family).then((addresses) => {
      if (addresses.length === 0) return callback(new DnsFailure('host not found'), '');
      for (const { address } of addresses) {
        const refusal = policy.refusal(address, port);
        if (refusal === undefined) continue;
        log?.debug({ host: hostname, port, refusal }, 'target resolves to a refused address');
        return callback(new TargetRefused(`target_url is not a public address: ${hostname} resolves to a non-public address; delivery refused`), '');
      }
      if (options.all) return callback(null, addresses);
      callback(null, addresses[0]!.address, addresses[0]!.family);
    }, (error: unknown) => callback(error as NodeJS.ErrnoException, ''));
  };
}

/**
 * The lookup does not learn the port it connects to, and the allowlist may bind ranges to ports: one
 * connector per port the allowlist names, and one for every other port (where bound entries never apply).
 */
function policedConnector(policy: TargetPolicy, resolve: ResolveAddresses, log: Logger | undefined): buildConnector.connector {
  const connectors = new Map<number | undefined, buildConnector.connector>();
  return (options, callback) => {
    const port = Number(options.port) || (options.protocol === 'https:' ? 443 : 80);
    const key = policy.namedPorts.has(port) ? port : undefined;
    let connector = connectors.get(key);
    if (!connector) connectors.set(key, (connector = buildConnector({ lookup: pinnedLookup(policy, key, resolve, log) as never })));
    connector(options, callback);
  };
}

/**
 * POSTs a signed webhook. Redirects are not followed (a 3xx is the answer); the response body is read up to
 * a few KiB for the attempt log, then dropped. One keep-alive agent is shared across endpoints.
 */
export class HttpEndpointClient {
  private readonly agent: Agent;

  constructor(
    private readonly policy: TargetPolicy,
    options: {
      connectionsPerOrigin?: number;
      /** How target names are resolved; c-ares with the system's name servers and a 5 s timeout unless given. */
      resolve?: ResolveAddresses;
      log?: Logger;
    } = {},
  ) {
    this.agent = new Agent({
      connections: options.connectionsPerOrigin ?? 64,
      keepAliveTimeout: 10_000,
      pipelining: 1,
      connect: policedConnector(policy, options.resolve ?? caresResolver({ timeoutMs: 5_000 }), options.log),
    });
  }

  async post(url: string, headers: Record<string, string>, body: string, timeoutMs: number): Promise<EndpointResponse> {
    const started = performance.now();
    const elapsed = () => Math.round(performance.now() - started);
    const blocked = (error: string): EndpointResponse => ({ result: { kind: 'blocked', error }, duration_ms: elapsed(), response_headers: null, response_body: null });
    // A target the gateway would refuse can still come from the log or a cache: refused like a blocked one
    // (the delivery fails with the reason) rather than thrown, which would hold its message forever.
    let target: URL;
    try {
      target = new URL(url);
    } catch {
      return blocked('target_url is not an absolute URL; delivery refused');
    }
    if (target.protocol !== 'http:' && target.protocol !== 'https:') return blocked(`target_url uses ${target.protocol}, not http or https; delivery refused`);
    // An IP literal is connected to without a lookup: check it here.
    const refusal = this.policy.literalRefusal(target);
    if (refusal) return blocked(`target_url is not a public address: ${refusal}; delivery refused`);
    try {
      const response = await this.agent.request({
        origin: target.origin,
        path: target.pathname + target.search,
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
      const refused = causeOfType(error, TargetRefused);
      if (refused) return blocked(refused.message);
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
