import { useEffect, useSyncExternalStore, type AnchorHTMLAttributes, type MouseEvent } from 'react';
import { gatewayPath, publicPath } from './basePath';

/**
 * A router of a few lines: the pages are a handful of paths under /ui (and /portal), the gateway answers
 * index.html for each, and history.pushState moves between them without a reload.
 */
const listeners = new Set<() => void>();
const notify = () => listeners.forEach((listener) => listener());
window.addEventListener('popstate', notify);

const subscribe = (listener: () => void) => {
  listeners.add(listener);
  return () => listeners.delete(listener);
};
// (the gateway's own path: the public URL's base, if any, is left off here and put back by navigate and Link)
const snapshot = () => `${gatewayPath(window.location.pathname) ?? window.location.pathname}${window.location.search}`;

export function navigate(to: string, options: { replace?: boolean } = {}): void {
  if (to === snapshot()) return;
  if (options.replace) window.history.replaceState(null, '', publicPath(to));
  else window.history.pushState(null, '', publicPath(to));
  notify();
}

/** The current path and query (re-rendered when they change). */
export function useLocation(): { path: string; search: URLSearchParams } {
  const current = useSyncExternalStore(subscribe, snapshot);
  const at = current.indexOf('?');
  return { path: at < 0 ? current : current.slice(0, at), search: new URLSearchParams(at < 0 ? '' : current.slice(at)) };
}

/** `pattern` like /ui/applications/:app; the named segments, decoded, or undefined when it does not match. */
export function match(pattern: string, path: string): Record<string, string> | undefined {
  const want = pattern.split('/');
  const have = path.replace(/\/+$/, '').split('/');
  if (want.length !== have.length) return undefined;
  const params: Record<string, string> = {};
  for (let i = 0; i < want.length; i++) {
    const part = want[i]!;
    if (part.startsWith(':')) params[part.slice(1)] = decodeURIComponent(have[i]!);
    else if (part !== have[i]) return undefined;
  }
  return params;
}

export function Link({ to, onClick, ...rest }: AnchorHTMLAttributes<HTMLAnchorElement> & { to: string }) {
  const follow = (event: MouseEvent<HTMLAnchorElement>) => {
    onClick?.(event);
    // (a modified click opens a tab, as on any link)
    if (event.defaultPrevented || event.button !== 0 || event.metaKey || event.ctrlKey || event.shiftKey || event.altKey) return;
    event.preventDefault();
    navigate(to);
  };
  return <a href={publicPath(to)} onClick={follow} {...rest} />;
}

/** Sets the document title (what a screen reader announces on a page change). */
export function useTitle(title: string): void {
  useEffect(() => {
    document.title = `${title} · Hookpost`;
  }, [title]);
}
