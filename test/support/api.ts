/** A small client for the public API, as a user would call it. */
export type ApiAnswer = { status: number; headers: Headers; body: any };

export function apiClient(baseUrl: string, defaultHeaders: Record<string, string> = {}) {
  return async function api(method: string, path: string, body?: unknown, headers: Record<string, string> = {}): Promise<ApiAnswer> {
    const response = await fetch(`${baseUrl}${path}`, {
      method,
      headers: body === undefined ? { ...defaultHeaders, ...headers } : { 'content-type': 'application/json', ...defaultHeaders, ...headers },
      body: body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body),
    });
    const text = await response.text();
    let parsed: unknown = text;
    try {
      parsed = text ? JSON.parse(text) : undefined;
    } catch {
      // not JSON: keep the text
    }
    return { status: response.status, headers: response.headers, body: parsed };
  };
}
