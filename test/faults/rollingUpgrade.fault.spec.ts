import { FaultRun } from '../support/faultRun';
import { spawnService, type ServiceProcess } from '../support/processes';
import { PREVIOUS_RELEASE, previousRelease } from '../support/releases';

// A rolling upgrade under steady load: the previous release runs the stack; this build's projector, dispatcher
// and gateway replace it one at a time, each started next to the old one (same consumer groups, queues,
// database and Redis) before the old one is stopped as an orchestrator stops it (SIGTERM). Runs alone (fault tier).
jest.setTimeout(600_000);

describe('a rolling upgrade from the previous release', () => {
  it(`loses nothing: ${PREVIOUS_RELEASE.name} → this build, under load`, async () => {
    const release = previousRelease();
    const run = await FaultRun.start({}, { release });
    const old = new Map(run.services);
    const added: ServiceProcess[] = [];
    try {
      let upgradeMs = 0;
      await run.load(40, 15, async () => {
        const startedAt = Date.now();
        // In the documented order (docs/upgrades.md), readers first: each new process beside the old one, then
        // the old one stopped as an orchestrator stops it (SIGTERM). The projector...
        const projector = await spawnService('projector', { ...run.env(), PROJECTOR_PORT: '0' });
        added.push(projector);
        run.services.set('projector', projector);
        await old.get('projector')!.stop('SIGTERM');
        // ...the dispatcher (the old gateway still reads through the old projector's port: gone, so it answers
        // reads 503 meanwhile; ingests do not read)...
        const withNewProjector = { ...run.env(), PROJECTOR_URL: `http://127.0.0.1:${projector.port}` };
        const dispatcher = await spawnService('dispatcher', { ...withNewProjector, DISPATCHER_PORT: '0' });
        added.push(dispatcher);
        run.services.set('dispatcher', dispatcher);
        await old.get('dispatcher')!.stop('SIGTERM');
        // ...then the gateway: the load moves to the new one before the old one goes.
        const gateway = await spawnService('gateway', { ...withNewProjector, GATEWAY_PORT: '0' });
        added.push(gateway);
        run.services.set('gateway', gateway);
        await old.get('gateway')!.stop('SIGTERM');
        upgradeMs = Date.now() - startedAt;
      });
      const ledger = await run.ledger();
      console.log(`fault rolling upgrade ${PREVIOUS_RELEASE.name} → this build: ${JSON.stringify({ ...ledger, upgradeMs })}`);
      expect(ledger.accepted).toBe(600);
      expect(ledger).toMatchObject({ rows: ledger.accepted, succeeded: ledger.accepted, missingRows: 0, lost: 0, unsettled: 0, attemptGaps: 0 });
    } finally {
      for (const service of old.values()) await service.stop();
      await run.stop();
    }
  });
});
