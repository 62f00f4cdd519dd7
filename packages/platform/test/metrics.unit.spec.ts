import { atMostEvery, cachedReadiness } from '../src/metrics';

describe('metrics and readiness that do not load the brokers', () => {
  it('refreshes at most once per interval however often it is asked, sharing a refresh in flight', async () => {
    let refreshes = 0;
    const refresh = atMostEvery(200, async () => {
      refreshes += 1;
      await new Promise((resolve) => setTimeout(resolve, 20));
    });
    await Promise.all(Array.from({ length: 50 }, () => refresh()));
    for (let i = 0; i < 20; i++) await refresh();
    expect(refreshes).toBe(1);
    await new Promise((resolve) => setTimeout(resolve, 220));
    await refresh();
    expect(refreshes).toBe(2);
  });

  it('answers readiness from the last check, checked once before the first answer', async () => {
    let checks = 0;
    let healthy = true;
    const readiness = await cachedReadiness(async () => {
      checks += 1;
      return healthy;
    }, 100);
    expect(await readiness.ready()).toBe(true);
    healthy = false;
    for (let i = 0; i < 100; i++) await readiness.ready();
    expect(checks).toBe(1);
    await new Promise((resolve) => setTimeout(resolve, 250));
    expect(await readiness.ready()).toBe(false);
    expect(checks).toBeLessThanOrEqual(4);
    readiness.stop();
  });
});
