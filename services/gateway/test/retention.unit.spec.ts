import { parseRetentionByApplication, retentionHours, type RetentionSettings } from '../src/retention';

const settings: RetentionSettings = {
  defaultHours: 2160,
  byApplication: new Map([['app_2QmA', 24], ['customer-42', 72]]),
  hourMs: 3_600_000,
  bucketMs: 86_400_000,
};

describe('choosing how long a payload is kept', () => {
  it('takes the message’s hours, else its days, else its application’s default, else the global default', () => {
    const app = { id: 'app_2QmA', uid: 'customer-42' };
    expect(retentionHours({ payloadRetentionHours: 5, payloadRetentionPeriod: null }, app, settings)).toBe(5);
    expect(retentionHours({ payloadRetentionPeriod: 3 }, app, settings)).toBe(72);
    // (by id first, then by uid)
    expect(retentionHours({}, app, settings)).toBe(24);
    expect(retentionHours({}, { id: 'app_other', uid: 'customer-42' }, settings)).toBe(72);
    expect(retentionHours({}, { id: 'app_other', uid: null }, settings)).toBe(2160);
    expect(retentionHours({ payloadRetentionHours: null, payloadRetentionPeriod: null }, undefined, settings)).toBe(2160);
  });
});

describe('reading HOOKPOST_PAYLOAD_RETENTION_BY_APP', () => {
  it('takes <id or uid>=<hours> entries and names each bad one by position, never quoting it', () => {
    expect(parseRetentionByApplication(['app_x=24', ' customer-1=2160 '])).toEqual({ byApplication: new Map([['app_x', 24], ['customer-1', 2160]]), problems: [] });
    const { problems } = parseRetentionByApplication(['ok=1', 'no-hours', 'zero=0', 'too-long=2161', 'sp ace=3']);
    expect(problems).toHaveLength(4);
    expect(problems[0]).toMatch(/entry 2 /);
  });
});
