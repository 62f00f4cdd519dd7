import type { SubscriptionState } from '@hookpost/contracts';
import { operationalAudience } from '../src/adapters/operationalLookups';

const endpoint = (is_active: boolean) => ({ is_active }) as SubscriptionState;

describe('operationalAudience: whether an operational event would reach anyone', () => {
  it('asks every time while there is none (an endpoint created since is seen at once), and keeps a yes a while', async () => {
    // Given no operational endpoint at first
    let clock = 0;
    let endpoints: SubscriptionState[] = [];
    let asked = 0;
    const anyAudience = operationalAudience(async () => (asked++, endpoints), () => clock, 10_000);
    expect(await anyAudience()).toBe(false);
    expect(await anyAudience()).toBe(false);
    expect(asked).toBe(2);
    // When one is created, the next fact sees it
    endpoints = [endpoint(true)];
    expect(await anyAudience()).toBe(true);
    // And a yes is kept for ten seconds, then asked again
    endpoints = [];
    clock = 9_999;
    expect(await anyAudience()).toBe(true);
    expect(asked).toBe(3);
    clock = 10_000;
    expect(await anyAudience()).toBe(false);
  });

  it('counts only enabled endpoints, and says yes when the read model cannot answer (the fan-out decides)', async () => {
    expect(await operationalAudience(async () => [endpoint(false)])()).toBe(false);
    expect(await operationalAudience(async () => Promise.reject(new Error('projector down')))()).toBe(true);
  });
});
