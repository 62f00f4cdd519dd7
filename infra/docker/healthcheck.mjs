// The image's HEALTHCHECK: healthy when the service in this container answers /readyz. One image runs any of
// the three, each on its own port, so the one that answers is the one running.
const ports = [process.env.GATEWAY_PORT ?? '8000', process.env.PROJECTOR_PORT ?? '8001', process.env.DISPATCHER_PORT ?? '8002'];
const ready = async (port) => {
  try {
    return (await fetch(`http://127.0.0.1:${port}/readyz`, { signal: AbortSignal.timeout(2_000) })).ok;
  } catch {
    return false;
  }
};
process.exit((await Promise.all(ports.map(ready))).some(Boolean) ? 0 : 1);
