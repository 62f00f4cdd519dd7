/**
 * Where the gateway is mounted on its public URL: HOOKPOST_PUBLIC_URL's path (e.g. `/hookpost` behind a
 * reverse proxy that serves Hookpost at https://example.com/hookpost/ and strips the prefix), '' at the root.
 * The gateway writes it into index.html; every URL the pages build starts with it, while the pages' own
 * paths (/ui/…, /portal/…) stay those the gateway serves.
 */
function read(): string {
  // (read through globalThis: the unit tests import this module in Node, which has no document)
  const page = (globalThis as { document?: { getElementById(id: string): { textContent: string | null } | null } }).document;
  const element = page?.getElementById('hookpost-config');
  if (!element?.textContent) return '';
  try {
    const value = (JSON.parse(element.textContent) as { basePath?: unknown }).basePath;
    return typeof value === 'string' && /^(\/[^/?#]+)*$/.test(value) ? value : '';
  } catch {
    return '';
  }
}

export const basePath = read();

/** A gateway path (/api/v1/…, /ui/…) as the browser must ask for it. */
export function publicPath(path: string): string {
  return `${basePath}${path}`;
}

/** The browser's path without the base (the gateway's own path), or undefined for a path outside it. */
export function gatewayPath(browserPath: string, base = basePath): string | undefined {
  if (base === '') return browserPath;
  if (browserPath === base) return '/';
  return browserPath.startsWith(`${base}/`) ? browserPath.slice(base.length) : undefined;
}
