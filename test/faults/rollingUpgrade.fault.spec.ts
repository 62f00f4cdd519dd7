import { FaultRun } from '../support/faultRun';
import { spawnService, type ServiceProcess } from '../support/processes';
import { PREVIOUS_RELEASE, previousRelease } from '../support/releases';

// A rolling upgrade under steady load: the previous release runs the stack; this build's projector, dispatcher
// and gateway start next to it (same consumer groups, queues, database and Redis), the load moves to the new
// gateway, then the old processes are stopped as an orchestrator stops them (SIGTERM). Runs alone (fault tier).
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
        // New projector first (the others read through it), then dispatcher and gateway beside the old ones.
        const projector = await spawnService('projector', { ...run.env(), PROJECTOR_PORT: '0' });
        added.push(projector);
        const withNewProjector = { ...run.env(), PROJECTOR_URL: `http://127.0.0.1:${projector.port}` };
        added.push(await spawnService('dispatcher', { ...withNewProjector, DISPATCHER_PORT: '0' }));
        const gateway = await spawnService('gateway', { ...withNewProjector, GATEWAY_PORT: '0' });
        added.push(gateway);
        // The load goes to the new gateway from here on; then the old processes go, gateway first.
        run.services.set('gateway', gateway);
        run.services.set('dispatcher', added[1]!);
        run.services.set('projector', projector);
        for (const name of ['gateway', 'dispatcher', 'projector'] as const) await old.get(name)!.stop('SIGTERM');
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
