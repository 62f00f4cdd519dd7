import { toExternalId } from '../lib/externalIds';

/**
 * The portal's credential: the application token that POST /api/v1/auth/app-portal-access answered, in the
 * URL's fragment (#token=hpat_…; a fragment never reaches a server or a Referer). It is moved to this tab's
 * sessionStorage and out of the address bar, so a reload keeps it and a copied link does not carry it.
 * The application it names is read from its payload (the gateway checks the signature on every call).
 */
const STORED = 'hookpost-portal-token';

// (the parts of window.location, sessionStorage and history it uses: the unit test passes stand-ins)
type Place = { hash: string; pathname: string; search: string };
type Store = { getItem(key: string): string | null; setItem(key: string, value: string): void; removeItem(key: string): void };
type Addresses = { replaceState(data: unknown, unused: string, url?: string | null): void };

/**
 * `storage` is undefined where the browser denies the page its storage: in a frame on another site when
 * third-party cookies are blocked (Chromium then throws on reading `window.sessionStorage`), which is how many
 * browsers open an embedded portal. The token then stays in the URL's fragment, so reloading the frame still
 * works; the frame's address is not shown to anyone.
 */
export function takePortalToken(location: Place, storage: Store | undefined, history: Addresses): string | undefined {
  // (read by its shape, not as a query: an embedding component may append its own parameters to the URL)
  const fromHash = /(?:^#|&)token=(hpat_[A-Za-z0-9_-]+\.[A-Za-z0-9_-]{43})/.exec(location.hash)?.[1];
  if (fromHash) {
    if (!storage) return fromHash;
    storage.setItem(STORED, fromHash);
    history.replaceState(null, '', `${location.pathname}${location.search}`);
    return fromHash;
  }
  return storage?.getItem(STORED) ?? undefined;
}

export function forgetPortalToken(storage: Store | undefined): void {
  storage?.removeItem(STORED);
}

/** The tab's sessionStorage, or undefined where the browser denies it (reading it throws, or writing does). */
export function tabStorage(read: () => Store): Store | undefined {
  try {
    const storage = read();
    storage.setItem(`${STORED}-probe`, '1');
    storage.removeItem(`${STORED}-probe`);
    return storage;
  } catch {
    return undefined;
  }
}

/** The application (external id) a token is for, or undefined for text that is not one of ours. */
export function applicationOfToken(token: string): string | undefined {
  const match = /^hpat_([A-Za-z0-9_-]+)\.[A-Za-z0-9_-]{43}$/.exec(token);
  if (!match) return undefined;
  try {
    const base64 = match[1]!.replace(/-/g, '+').replace(/_/g, '/');
    const claims = JSON.parse(atob(base64.padEnd(base64.length + ((4 - (base64.length % 4)) % 4), '='))) as { app?: unknown; exp?: unknown };
    return typeof claims.app === 'string' ? toExternalId('app', claims.app) : undefined;
  } catch {
    return undefined;
  }
}
