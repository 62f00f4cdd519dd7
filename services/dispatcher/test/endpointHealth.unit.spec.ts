import { circuitOf, decideSustainedFailure, LONGEST_PROBE_DEFERRAL_MS, probeDeferralDelay, probingReason } from '../src/delivery/endpointHealth';

const limits = { probeAfterFailures: 5, probeIntervalMs: 30_000, disableAfterMs: 5 * 86_400_000 };
const now = new Date('2026-01-10T00:00:00.000Z');
const days = (n: number) => n * 86_400_000;

describe('circuitOf', () => {
  it('sends every due attempt while fewer than the limit failed in a row, and probes from the limit on', () => {
    expect(circuitOf(undefined, limits)).toBe('closed');
    expect(circuitOf({ failures: 4, failingSince: 0 }, limits)).toBe('closed');
    expect(circuitOf({ failures: 5, failingSince: 0 }, limits)).toBe('open');
    expect(circuitOf({ failures: 500, failingSince: 0 }, limits)).toBe('open');
  });

  it('never probes when probing is off (0)', () => {
    expect(circuitOf({ failures: 500, failingSince: 0 }, { ...limits, probeAfterFailures: 0 })).toBe('closed');
  });
});

describe('probeDeferralDelay', () => {
  it('keeps a deferred attempt away until the probe slot frees, plus an interval that doubles per deferral', () => {
    // Given the probe slot is held for 10 s more, and a pinned random (no spread)
    const even = () => 0.5;
    // Then the first deferral comes back after the slot frees and one interval; the next after two, four…
    expect(probeDeferralDelay(10_000, 0, limits, even)).toBe(40_000);
    expect(probeDeferralDelay(10_000, 1, limits, even)).toBe(70_000);
    expect(probeDeferralDelay(10_000, 2, limits, even)).toBe(130_000);
  });

  it('is at most ten minutes (or one interval, when that is longer), spread by ±20 %', () => {
    expect(probeDeferralDelay(10_000, 50, limits, () => 0.5)).toBe(LONGEST_PROBE_DEFERRAL_MS);
    expect(probeDeferralDelay(10_000, 50, limits, () => 0)).toBe(LONGEST_PROBE_DEFERRAL_MS * 0.8);
    expect(probeDeferralDelay(10_000, 50, limits, () => 0.999_999)).toBeLessThanOrEqual(LONGEST_PROBE_DEFERRAL_MS * 1.2);
    expect(probeDeferralDelay(0, 50, { ...limits, probeIntervalMs: 3_600_000 }, () => 0.5)).toBe(3_600_000);
  });

  it('comes back after at least a millisecond, whatever it is given', () => {
    expect(probeDeferralDelay(-5, -1, { ...limits, probeIntervalMs: 10 }, () => 0)).toBeGreaterThanOrEqual(1);
  });
});

describe('decideSustainedFailure', () => {
  it('disables an endpoint whose every attempt failed for the period, saying since when', () => {
    // Given every attempt failed since five days ago (and the one just counted)
    const since = now.getTime() - days(5);
    const decision = decideSustainedFailure({ failures: 40, failingSince: since }, limits, now);
    // Then it is to be disabled, with the time it started failing
    expect(decision).toEqual({ failingSince: '2026-01-05T00:00:00.000Z', detail: expect.stringContaining('every attempt failed since 2026-01-05T00:00:00.000Z (40 in a row, for 5.0 days') });
  });

  it('leaves an endpoint that has failed for less than the period alone', () => {
    expect(decideSustainedFailure({ failures: 1_000, failingSince: now.getTime() - days(5) + 1 }, limits, now)).toBeUndefined();
  });

  it('never disables when the period is 0', () => {
    expect(decideSustainedFailure({ failures: 1_000, failingSince: 0 }, { ...limits, disableAfterMs: 0 }, now)).toBeUndefined();
  });

  it('words short periods in seconds (test settings)', () => {
    const decision = decideSustainedFailure({ failures: 3, failingSince: now.getTime() - 2_500 }, { ...limits, disableAfterMs: 2_000 }, now);
    expect(decision?.detail).toContain('for 2.5 s; the limit is 2.0 s');
  });
});

describe('probingReason', () => {
  it('says how many attempts failed since when', () => {
    expect(probingReason({ failures: 7, failingSince: Date.parse('2026-01-09T00:00:00.000Z') })).toBe(
      'the endpoint is failing (7 attempts in a row since 2026-01-09T00:00:00.000Z): one attempt per probe interval goes out',
    );
  });
});
