import { decideSignInGate, signInAddress } from '../src/ui/signInLimit';
import { trustProxyOf } from '../src/env';

const limit = { maxFailures: 10, windowMs: 600_000 };

describe('the sign-in gate', () => {
  it('is open with no failures, and below the limit', () => {
    expect(decideSignInGate(undefined, limit)).toEqual({ kind: 'open' });
    expect(decideSignInGate({ failures: 9, resetsInMs: 1_000 }, limit)).toEqual({ kind: 'open' });
  });

  it('locks an address at the limit until its window ends, in whole seconds, at least one', () => {
    expect(decideSignInGate({ failures: 10, resetsInMs: 599_001 }, limit)).toEqual({ kind: 'locked', retryAfterSeconds: 600 });
    expect(decideSignInGate({ failures: 25, resetsInMs: 1_500 }, limit)).toEqual({ kind: 'locked', retryAfterSeconds: 2 });
    expect(decideSignInGate({ failures: 10, resetsInMs: 1 }, limit)).toEqual({ kind: 'locked', retryAfterSeconds: 1 });
  });

  it('waits a whole window out when the counter has no expiry to report', () => {
    // (PTTL answers -1 for a key without expiry, -2 for none)
    expect(decideSignInGate({ failures: 10, resetsInMs: -1 }, limit)).toEqual({ kind: 'locked', retryAfterSeconds: 600 });
  });
});

describe("a sign-in's address", () => {
  it('is the address Express reports, an IPv4-mapped one as IPv4', () => {
    expect(signInAddress('::ffff:127.0.0.1')).toBe('127.0.0.1');
    expect(signInAddress('203.0.113.7')).toBe('203.0.113.7');
    expect(signInAddress('2001:db8::1')).toBe('2001:db8::1');
    expect(signInAddress(undefined)).toBe('unknown');
  });
});

describe('HOOKPOST_TRUST_PROXY', () => {
  it('is off when empty, a hop count when a number, the proxies otherwise, and refuses trusting everyone', () => {
    expect(trustProxyOf('')).toBeUndefined();
    expect(trustProxyOf('false')).toBeUndefined();
    expect(trustProxyOf('1')).toBe(1);
    expect(trustProxyOf('loopback, 10.0.0.0/8')).toBe('loopback, 10.0.0.0/8');
    expect(trustProxyOf('true')).toBe('refused');
  });
});
