/**
 * How the browser calls the gateway. The operator's pages carry no key: the session cookie (httpOnly, set by
 * sign-in) goes with every same-origin request, and every state-changing one carries the session's CSRF token
 * in a header, which another site cannot read or set. The portal has no cookie: it holds the application
 * token from its URL's fragment in memory and sends it as a Bearer token.
 */
import { publicPath } from '../lib/basePath';

export type Credential = { kind: 'session'; csrf: string } | { kind: 'token'; token: string };

export class ApiError extends Error {
  constructor(
    readonly status: number,
    message: string,
    readonly body: unknown,
  ) {
    super(message);
  }
}

let credential: Credential | undefined;
const signedOutListeners = new Set<() => void>();

export function useCredential(next: Credential | undefined): void {
  credential = next;
}

export function currentCredential(): Credential | undefined {
  return credential;
}

/** Called when the gateway answers 401 to the operator's session: it expired or was signed out elsewhere. */
export function onSignedOut(listener: () => void): () => void {
  signedOutListeners.add(listener);
  return () => signedOutListeners.delete(listener);
}

export function authHeaders(method = 'GET'): Record<string, string> {
  const headers: Record<string, string> = {};
  if (credential?.kind === 'token') headers.authorization = `Bearer ${credential.token}`;
  if (credential?.kind === 'session' && method !== 'GET' && method !== 'HEAD') headers['x-hookpost-csrf'] = credential.csrf;
  return headers;
}

/** The words of an error answer: the seed API's problem+json (`detail`), the Svix API's `detail` (text or field list). */
export function errorText(body: unknown, status: number): string {
  if (body && typeof body === 'object') {
    const detail = (body as { detail?: unknown }).detail;
    if (typeof detail === 'string') return detail;
    if (Array.isArray(detail)) {
      return detail
        .map((item: { loc?: unknown[]; msg?: string }) => `${(item.loc ?? []).filter((part) => part !== 'body').join('.')}: ${item.msg ?? ''}`)
        .join('; ');
    }
    const errors = (body as { errors?: { field: string; message: string }[] }).errors;
    if (Array.isArray(errors)) return errors.map((error) => `${error.field} ${error.message}`).join('; ');
    const title = (body as { title?: unknown }).title;
    if (typeof title === 'string') return title;
  }
  return `HTTP ${status}`;
}

export async function api<T>(method: string, path: string, body?: unknown): Promise<T> {
  const headers: Record<string, string> = { accept: 'application/json', ...authHeaders(method) };
  if (body !== undefined) headers['content-type'] = 'application/json';
  const answer = await fetch(publicPath(path), { method, headers, credentials: 'same-origin', body: body === undefined ? undefined : JSON.stringify(body) });
  const text = await answer.text();
  let parsed: unknown = undefined;
  try {
    parsed = text ? JSON.parse(text) : undefined;
  } catch {
    parsed = text;
  }
  if (!answer.ok) {
    if (answer.status === 401 && credential?.kind === 'session') for (const listener of signedOutListeners) listener();
    throw new ApiError(answer.status, errorText(parsed, answer.status), parsed);
  }
  return parsed as T;
}

/** A query string from the values that are set (arrays repeat the name). */
export function query(params: Record<string, string | number | boolean | string[] | undefined | null>): string {
  const search = new URLSearchParams();
  for (const [name, value] of Object.entries(params)) {
    if (value === undefined || value === null || value === '') continue;
    if (Array.isArray(value)) for (const item of value) search.append(name, item);
    else search.set(name, String(value));
  }
  const text = search.toString();
  return text ? `?${text}` : '';
}
