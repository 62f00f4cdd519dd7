import { cpuMicros, formatRange, perMessage, procStatTicks, range, saving, ticksToMicros } from '../../bench/kafkaClientsMath';

describe('the Kafka client bench arithmetic', () => {
  it('adds user and system CPU between two readings', () => {
    expect(cpuMicros({ user: 1_000, system: 500 }, { user: 4_000, system: 1_700 })).toBe(4_200);
  });

  it('reads utime+stime from /proc/<pid>/stat, also when the command name holds spaces and parentheses', () => {
    const plain = '14021 (java) S 1 14021 14021 0 -1 4194304 208584 0 60 0 3263 1498 0 0 20 0 99 0 4091385';
    expect(procStatTicks(plain)).toBe(3263 + 1498);
    const odd = '77 (a b) (c)) R 1 77 77 0 -1 0 0 0 0 0 11 22 0 0 20 0 1 0 5';
    expect(procStatTicks(odd)).toBe(33);
    expect(() => procStatTicks('garbage')).toThrow('not a /proc/<pid>/stat line');
  });

  it('turns clock ticks into µs and divides by the messages counted', () => {
    expect(ticksToMicros(3, 100)).toBe(30_000);
    expect(perMessage(30_000, 1_000)).toBe(30);
    expect(perMessage(30_000, 0)).toBeNaN();
  });

  it('gives the range and median over runs, leaving out runs without a figure', () => {
    expect(range([30, 10, 20])).toEqual({ min: 10, max: 30, median: 20 });
    expect(range([40, 10, NaN, 20, 30])).toEqual({ min: 10, max: 40, median: 25 });
    expect(range([NaN])).toBeUndefined();
    expect(formatRange(range([12.34, 15.01]), 1)).toBe('12.3–15.0');
    expect(formatRange(range([7, 7.2]))).toBe('7');
    expect(formatRange(undefined)).toBe('–');
  });

  it('states a saving as a fraction of the baseline', () => {
    expect(saving(200, 120)).toBeCloseTo(0.4);
    expect(saving(100, 150)).toBeCloseTo(-0.5);
  });
});
