import { useEffect, useRef, useState } from 'react';
import { authHeaders } from '../api/client';
import type { DeliveryChange } from '../api/types';
import { publicPath } from './basePath';

/**
 * The gateway's live stream (server-sent events, GET /ui/api/live): one `delivery` event per delivery row the
 * read model changed, sent as the projector commits it. Read with fetch rather than EventSource so the portal
 * can send its Bearer token (EventSource sends no headers); reconnects after a drop, and says when it is
 * connected so pages can refetch what they may have missed.
 */
export type LiveState = 'connecting' | 'live' | 'offline';

/** Events of an SSE stream from its text, pure: the complete events, and the text of an event still arriving. */
export function parseEvents(buffer: string): { events: { event: string; data: string }[]; rest: string } {
  const events: { event: string; data: string }[] = [];
  const blocks = buffer.split(/\r?\n\r?\n/);
  const rest = blocks.pop() ?? '';
  for (const block of blocks) {
    let event = 'message';
    const data: string[] = [];
    for (const line of block.split(/\r?\n/)) {
      if (line.startsWith(':')) continue;
      const at = line.indexOf(':');
      const field = at < 0 ? line : line.slice(0, at);
      const value = at < 0 ? '' : line.slice(at + 1).replace(/^ /, '');
      if (field === 'event') event = value;
      else if (field === 'data') data.push(value);
    }
    if (data.length > 0) events.push({ event, data: data.join('\n') });
  }
  return { events, rest };
}

export function useLiveDeliveries(onChange: (changes: DeliveryChange[]) => void, params = ''): LiveState {
  const [state, setState] = useState<LiveState>('connecting');
  const handler = useRef(onChange);
  handler.current = onChange;
  useEffect(() => {
    const abort = new AbortController();
    let retry: ReturnType<typeof setTimeout> | undefined;
    const connect = async () => {
      try {
        const answer = await fetch(publicPath(`/ui/api/live${params}`), { headers: { accept: 'text/event-stream', ...authHeaders() }, credentials: 'same-origin', signal: abort.signal });
        if (!answer.ok || !answer.body) throw new Error(`live stream: HTTP ${answer.status}`);
        const reader = answer.body.pipeThrough(new TextDecoderStream()).getReader();
        let buffer = '';
        for (;;) {
          const { value, done } = await reader.read();
          if (done) break;
          buffer += value;
          const parsed = parseEvents(buffer);
          buffer = parsed.rest;
          const changes: DeliveryChange[] = [];
          for (const event of parsed.events) {
            if (event.event === 'ready') {
              setState('live');
              // (whatever changed while it was not connected)
              handler.current([]);
            } else if (event.event === 'deliveries') changes.push(...(JSON.parse(event.data) as DeliveryChange[]));
          }
          if (changes.length > 0) handler.current(changes);
        }
        throw new Error('live stream ended');
      } catch {
        if (abort.signal.aborted) return;
        setState('offline');
        retry = setTimeout(connect, 2_000);
      }
    };
    void connect();
    return () => {
      abort.abort();
      if (retry) clearTimeout(retry);
    };
  }, [params]);
  return state;
}
