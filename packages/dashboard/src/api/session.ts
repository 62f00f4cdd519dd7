import { publicPath } from '../lib/basePath';
import { ApiError, errorText } from './client';

/** The operator's session: sign-in exchanges an admin API key for an httpOnly cookie; the key is not kept. */
export type Session = { csrf: string };

async function answer<T>(response: Response): Promise<T> {
  const text = await response.text();
  const body: unknown = text ? JSON.parse(text) : undefined;
  if (!response.ok) throw new ApiError(response.status, errorText(body, response.status), body);
  return body as T;
}

export async function currentSession(): Promise<Session | undefined> {
  const response = await fetch(publicPath('/ui/api/session'), { credentials: 'same-origin', headers: { accept: 'application/json' } });
  if (response.status === 401) return undefined;
  return answer<Session>(response);
}

export async function signIn(key: string): Promise<Session> {
  return answer<Session>(
    await fetch(publicPath('/ui/api/session'), {
      method: 'POST',
      credentials: 'same-origin',
      headers: { 'content-type': 'application/json', accept: 'application/json' },
      body: JSON.stringify({ key }),
    }),
  );
}

export async function signOut(csrf: string): Promise<void> {
  const response = await fetch(publicPath('/ui/api/session'), { method: 'DELETE', credentials: 'same-origin', headers: { 'x-hookpost-csrf': csrf } });
  if (!response.ok && response.status !== 401) await answer(response);
}
