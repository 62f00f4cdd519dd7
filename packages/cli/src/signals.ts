/**
 * Ctrl-C (SIGINT) and SIGTERM as an AbortSignal, for the commands that run until stopped (tail, listen): the
 * first one asks them to finish (listen deletes its endpoint); a second one exits at once, status 130.
 */
export function stopSignal(): { signal: AbortSignal; dispose: () => void } {
  const controller = new AbortController();
  const onSignal = () => {
    if (controller.signal.aborted) process.exit(130);
    controller.abort();
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  return {
    signal: controller.signal,
    dispose: () => {
      process.off('SIGINT', onSignal);
      process.off('SIGTERM', onSignal);
    },
  };
}
