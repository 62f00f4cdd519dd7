/**
 * In a frame, the portal tells the page around it how tall it is, in the message svix-react's `AppPortal`
 * listens for with `fullSize` (`svix.iframe-resizer-height`), so the frame grows with the page instead of
 * scrolling inside a fixed box. Only the height is sent; only origins in HOOKPOST_PORTAL_FRAME_ANCESTORS can
 * frame the portal at all.
 */
export const FRAME_HEIGHT_MESSAGE = 'svix.iframe-resizer-height';

export function reportHeightToEmbedder(win: Window): () => void {
  if (win.parent === win) return () => undefined;
  let last = -1;
  const report = () => {
    const height = Math.ceil(win.document.documentElement.getBoundingClientRect().height);
    if (height === last) return;
    last = height;
    win.parent.postMessage({ type: FRAME_HEIGHT_MESSAGE, payload: { height } }, '*');
  };
  const observer = new ResizeObserver(report);
  observer.observe(win.document.documentElement);
  report();
  return () => observer.disconnect();
}
