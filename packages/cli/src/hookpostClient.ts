import { randomUUID } from 'node:crypto';
import type {
  ApplicationIn,
  ApplicationOut,
  EndpointIn,
  EndpointOut,
  EndpointPatch,
  EndpointSecretOut,
  ListResponse,
  MessageAttemptOut,
  MessageIn,
  MessageOut,
} from '@hookpost/contracts';
import type { Credentials } from './config';
import { ApiError, errorBodyDetail, unreachable } from './errors';

/** A query string: arrays are sent as repeated names, undefined values are left out. */
export type Query = Readonly<Record<string, string | number | boolean | readonly string[] | undefined>>;

export function queryString(query: Query | undefined): string {
  const params = new URLSearchParams();
  for (const [name, value] of Object.entries(query ?? {})) {
    if (value === undefined) continue;
    if (Array.isArray(value)) for (const item of value) params.append(name, item);
    else params.append(name, String(value));
  }
  const text = params.toString();
  return text ? `?${text}` : '';
}

/** A path segment: an id, uid or event id, escaped so that it stays one segment. */
export const segment = (text: string) => encodeURIComponent(text);

export type ClientOptions = {
  timeoutMs?: number;
  /** How often a request answered 503 (Hookpost's read model catching up, with Retry-After) is sent again. */
  retries503?: number;
  sleep?: (ms: number) => Promise<void>;
  userAgent?: string;
};

export type RecoverOut = { id: string; status: string; task: string; updatedAt?: string };

const DEFAULT_TIMEOUT_MS = 30_000;
const MOST_RETRY_AFTER_MS = 5_000;

/**
 * Hookpost's public HTTP API (the Svix-compatible /api/v1) over fetch. Every POST carries an Idempotency-Key,
 * as Svix's clients send one, so a POST answered 503 can be sent again without doing anything twice.
 */
export class HookpostClient {
  private readonly timeoutMs: number;
  private readonly retries503: number;
  private readonly sleep: (ms: number) => Promise<void>;

  constructor(
    readonly credentials: Credentials,
    private readonly options: ClientOptions = {},
  ) {
    this.timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
    this.retries503 = options.retries503 ?? 2;
    this.sleep = options.sleep ?? ((ms) => new Promise((resolve) => setTimeout(resolve, ms)));
  }

  async request<T>(method: 'GET' | 'POST' | 'PATCH' | 'PUT' | 'DELETE', path: string, options: { query?: Query; body?: unknown; idempotencyKey?: string } = {}): Promise<T> {
    const url = `${this.credentials.url}${path}${queryString(options.query)}`;
    const headers: Record<string, string> = {
      authorization: `Bearer ${this.credentials.apiKey}`,
      accept: 'application/json',
      'user-agent': this.options.userAgent ?? 'hookpost-cli',
    };
    if (options.body !== undefined) headers['content-type'] = 'application/json';
    if (method === 'POST') headers['idempotency-key'] = options.idempotencyKey ?? `hookpost-cli_${randomUUID()}`;
    // GET and keyed POSTs are safe to send again; a DELETE or PATCH answered 503 is reported as it is.
    const retryable = method === 'GET' || method === 'POST';
    for (let attempt = 0; ; attempt += 1) {
      let response: Response;
      try {
        response = await fetch(url, {
          method,
          headers,
          body: options.body === undefined ? undefined : JSON.stringify(options.body),
          signal: AbortSignal.timeout(this.timeoutMs),
        });
      } catch (error) {
        throw unreachable(error, this.credentials.url, this.timeoutMs);
      }
      const text = await response.text();
      let body: unknown = text;
      if (text && (response.headers.get('content-type') ?? '').includes('json')) {
        try {
          body = JSON.parse(text);
        } catch {
          // not JSON after all: keep the text
        }
      }
      if (response.ok) return (text ? body : undefined) as T;
      const retryAfter = Number(response.headers.get('retry-after'));
      if (response.status === 503 && retryable && attempt < this.retries503) {
        await this.sleep(Math.min(Number.isFinite(retryAfter) && retryAfter > 0 ? retryAfter * 1000 : 1000, MOST_RETRY_AFTER_MS));
        continue;
      }
      const { code, detail } = errorBodyDetail(response.status, body);
      throw new ApiError(response.status, code, detail, Number.isFinite(retryAfter) ? retryAfter : undefined);
    }
  }

  /** `GET /api/v1/health`: answers without a key, so it tells "not Hookpost" apart from "wrong key". */
  async health(): Promise<void> {
    await this.request<void>('GET', '/api/v1/health');
  }

  /** A call every key may make (admin and application-scoped): lists one event type. */
  async checkKey(): Promise<void> {
    await this.request('GET', '/api/v1/event-type', { query: { limit: 1 } });
  }

  listApplications(query: Query): Promise<ListResponse<ApplicationOut>> {
    return this.request('GET', '/api/v1/app', { query });
  }
  createApplication(body: ApplicationIn): Promise<ApplicationOut> {
    return this.request('POST', '/api/v1/app', { body });
  }
  getApplication(app: string): Promise<ApplicationOut> {
    return this.request('GET', `/api/v1/app/${segment(app)}`);
  }
  deleteApplication(app: string): Promise<void> {
    return this.request('DELETE', `/api/v1/app/${segment(app)}`);
  }

  listEndpoints(app: string, query: Query): Promise<ListResponse<EndpointOut>> {
    return this.request('GET', `/api/v1/app/${segment(app)}/endpoint`, { query });
  }
  createEndpoint(app: string, body: EndpointIn): Promise<EndpointOut> {
    return this.request('POST', `/api/v1/app/${segment(app)}/endpoint`, { body });
  }
  getEndpoint(app: string, endpoint: string): Promise<EndpointOut> {
    return this.request('GET', `/api/v1/app/${segment(app)}/endpoint/${segment(endpoint)}`);
  }
  updateEndpoint(app: string, endpoint: string, body: EndpointPatch): Promise<EndpointOut> {
    return this.request('PATCH', `/api/v1/app/${segment(app)}/endpoint/${segment(endpoint)}`, { body });
  }
  deleteEndpoint(app: string, endpoint: string): Promise<void> {
    return this.request('DELETE', `/api/v1/app/${segment(app)}/endpoint/${segment(endpoint)}`);
  }
  getEndpointSecret(app: string, endpoint: string): Promise<EndpointSecretOut> {
    return this.request('GET', `/api/v1/app/${segment(app)}/endpoint/${segment(endpoint)}/secret`);
  }

  createMessage(app: string, body: MessageIn, idempotencyKey?: string): Promise<MessageOut> {
    return this.request('POST', `/api/v1/app/${segment(app)}/msg`, { body, ...(idempotencyKey ? { idempotencyKey } : {}) });
  }
  listMessages(app: string, query: Query): Promise<ListResponse<MessageOut>> {
    return this.request('GET', `/api/v1/app/${segment(app)}/msg`, { query });
  }
  getMessage(app: string, message: string, query: Query = {}): Promise<MessageOut> {
    return this.request('GET', `/api/v1/app/${segment(app)}/msg/${segment(message)}`, { query });
  }

  listAttemptsByMessage(app: string, message: string, query: Query): Promise<ListResponse<MessageAttemptOut>> {
    return this.request('GET', `/api/v1/app/${segment(app)}/attempt/msg/${segment(message)}`, { query });
  }
  listAttemptsByEndpoint(app: string, endpoint: string, query: Query): Promise<ListResponse<MessageAttemptOut>> {
    return this.request('GET', `/api/v1/app/${segment(app)}/attempt/endpoint/${segment(endpoint)}`, { query });
  }

  resend(app: string, message: string, endpoint: string): Promise<unknown> {
    return this.request('POST', `/api/v1/app/${segment(app)}/msg/${segment(message)}/endpoint/${segment(endpoint)}/resend`, { body: {} });
  }
  recover(app: string, endpoint: string, window: { since: string; until?: string }): Promise<RecoverOut> {
    return this.request('POST', `/api/v1/app/${segment(app)}/endpoint/${segment(endpoint)}/recover`, { body: window });
  }

  /** Every item of a list, page after page (for `--all` and for tail's endpoint list). */
  async *everyPage<Item>(list: (query: Query) => Promise<ListResponse<Item>>, query: Query): AsyncGenerator<ListResponse<Item>> {
    let iterator = query.iterator;
    for (;;) {
      const page = await list({ ...query, iterator });
      yield page;
      if (page.done || !page.iterator || page.data.length === 0) return;
      iterator = page.iterator;
    }
  }
}
