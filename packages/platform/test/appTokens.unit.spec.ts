import { createHmac, randomBytes } from 'node:crypto';
import { toExternalId } from '@hookpost/contracts';
import { AppTokens, ConfiguredAppKeys, looksLikeAppToken } from '../src/appTokens';

const APP = '0190f0a4-7b7e-7c3d-8a1b-2c3d4e5f6a7b';
const OTHER_APP = '0190f0a4-7b7e-7c3d-8a1b-000000000000';
const NOW = Date.parse('2026-12-01T10:00:00Z');
const masterKey = (id: string) => `${id}:${randomBytes(32).toString('base64')}`;
const grant = { app: APP, expiresInSeconds: 3_600, readOnly: false };

/** Signs any payload text the way AppTokens does, with a raw signing key: for payloads AppTokens would never write. */
const signedWith = (key: Buffer, payload: string) => `hpat_${payload}.${createHmac('sha256', key).update(`hpat_${payload}`).digest('base64url')}`;
const payloadOf = (token: string) => JSON.parse(Buffer.from(token.slice(5, token.indexOf('.')), 'base64url').toString('utf8')) as Record<string, unknown>;
const encode = (body: unknown) => Buffer.from(JSON.stringify(body), 'utf8').toString('base64url');

describe('application tokens', () => {
  it('verify as what they were issued for, until they expire', () => {
    // Given tokens signed under a master key
    const tokens = AppTokens.fromConfig(masterKey('k1'));
    const token = tokens.issue({ ...grant, readOnly: true, capabilities: ['ViewBase'], sessionId: 'session-1', featureFlags: ['beta'] }, NOW);

    // Then the token names the application and its expiry, and reads back exactly
    expect(token).toMatch(/^hpat_[A-Za-z0-9_-]+\.[A-Za-z0-9_-]{43}$/);
    expect(looksLikeAppToken(token)).toBe(true);
    expect(tokens.verify(token, NOW)).toEqual({
      ok: true,
      claims: { app: APP, issuedAt: NOW / 1000, expiresAt: NOW / 1000 + 3_600, readOnly: true, capabilities: ['ViewBase'], sessionId: 'session-1', featureFlags: ['beta'] },
    });
    // valid to the last second, expired from the expiry on
    expect(tokens.verify(token, NOW + 3_599_999)).toMatchObject({ ok: true });
    expect(tokens.verify(token, NOW + 3_600_000)).toEqual({ ok: false, reason: 'expired' });
    // and two tokens of one grant in one second differ (logging one out leaves the other)
    expect(tokens.issue(grant, NOW)).not.toBe(tokens.issue(grant, NOW));
  });

  it('refuse forged tokens: another key, a changed payload, a changed mac', () => {
    const tokens = AppTokens.fromConfig(masterKey('k1'));
    const token = tokens.issue(grant, NOW);
    const [payload, mac] = token.slice(5).split('.') as [string, string];

    // a token of another installation (another master key)
    expect(AppTokens.fromConfig(masterKey('k1')).verify(token, NOW)).toEqual({ ok: false, reason: 'forged' });
    // the payload moved to another application, the mac kept
    const moved = encode({ ...payloadOf(token), app: OTHER_APP });
    expect(tokens.verify(`hpat_${moved}.${mac}`, NOW)).toEqual({ ok: false, reason: 'forged' });
    // the expiry pushed back
    const extended = encode({ ...payloadOf(token), exp: (payloadOf(token).exp as number) + 86_400 });
    expect(tokens.verify(`hpat_${extended}.${mac}`, NOW)).toEqual({ ok: false, reason: 'forged' });
    // one character of the mac changed
    const flipped = `${mac[0] === 'A' ? 'B' : 'A'}${mac.slice(1)}`;
    expect(tokens.verify(`hpat_${payload}.${flipped}`, NOW)).toEqual({ ok: false, reason: 'forged' });
  });

  it('read nothing but the exact form they are issued in', () => {
    const key = randomBytes(32);
    const tokens = new AppTokens([key]);
    const token = tokens.issue(grant, NOW);
    const [payload, mac] = token.slice(5).split('.') as [string, string];
    const base = payloadOf(token);

    // the same bytes spelled another way (the unused low bits of the mac's last character): one token, one spelling
    const last = mac[42]!;
    const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';
    const sibling = alphabet[alphabet.indexOf(last) ^ 1]!;
    expect(Buffer.from(`${mac.slice(0, 42)}${sibling}`, 'base64url').equals(Buffer.from(mac, 'base64url'))).toBe(true);
    expect(tokens.verify(`hpat_${payload}.${mac.slice(0, 42)}${sibling}`, NOW)).toEqual({ ok: false, reason: 'malformed' });

    for (const text of ['', 'hpat_', `hpat_${payload}`, `hpat_${payload}.`, `${payload}.${mac}`, `HPAT_${payload}.${mac}`, `hpat_${payload}.${mac}=`, `hpat_${payload}.${mac}.x`, `hpat_${'A'.repeat(5_000)}.${mac}`]) {
      expect(tokens.verify(text, NOW)).toMatchObject({ ok: false });
    }

    // payloads signed with the right key but not of the form AppTokens writes are refused all the same
    const strange = [
      { ...base, v: 2 },
      { ...base, admin: true },
      { ...base, app: toExternalId('app', APP) },
      { ...base, app: APP.toUpperCase() },
      { ...base, exp: base.iat },
      { ...base, exp: '9999999999' },
      { ...base, ro: false },
      { ...base, cap: ['Everything'] },
      { ...base, sid: 'a b' },
      [base],
      'a string',
    ];
    for (const body of strange) expect(tokens.verify(signedWith(key, encode(body)), NOW)).toEqual({ ok: false, reason: 'malformed' });
    expect(tokens.verify(signedWith(key, Buffer.from('{not json', 'utf8').toString('base64url')), NOW)).toEqual({ ok: false, reason: 'malformed' });
    // (and the control: the same construction of a payload AppTokens writes verifies)
    expect(tokens.verify(signedWith(key, encode(base)), NOW)).toMatchObject({ ok: true });
  });

  it('survive a master-key rotation: every configured key verifies, the first signs', () => {
    // Given a token issued before the rotation, under k1
    const k1 = masterKey('k1');
    const k2 = masterKey('k2');
    const before = AppTokens.fromConfig(k1).issue(grant, NOW);

    // When k2 is added in front
    const during = AppTokens.fromConfig(`${k2},${k1}`);

    // Then the old token still verifies, and new ones are signed with k2
    expect(during.verify(before, NOW)).toMatchObject({ ok: true, claims: { app: APP } });
    const after = during.issue(grant, NOW);
    expect(AppTokens.fromConfig(k2).verify(after, NOW)).toMatchObject({ ok: true });
    expect(AppTokens.fromConfig(k1).verify(after, NOW)).toEqual({ ok: false, reason: 'forged' });
    // and once k1 is retired, its tokens are no longer accepted
    expect(AppTokens.fromConfig(k2).verify(before, NOW)).toEqual({ ok: false, reason: 'forged' });
  });

  it('are issued only for an application id and a positive expiry', () => {
    const tokens = AppTokens.fromConfig(masterKey('k1'));
    expect(() => tokens.issue({ ...grant, app: toExternalId('app', APP) }, NOW)).toThrow(RangeError);
    expect(() => tokens.issue({ ...grant, expiresInSeconds: 0 }, NOW)).toThrow(RangeError);
  });
});

describe('application keys from configuration', () => {
  const appId = toExternalId('app', APP);

  it('scope each key to the application it names, by id or by uid', () => {
    const keys = ConfiguredAppKeys.parse([`${appId}=key-of-the-app-by-id-0001`, 'customer-7=key-of-the-app-by-uid-01']);
    expect(keys.size).toBe(2);
    expect(keys.applicationOf('key-of-the-app-by-id-0001')).toEqual({ kind: 'id', id: APP });
    expect(keys.applicationOf('key-of-the-app-by-uid-01')).toEqual({ kind: 'uid', uid: 'customer-7' });
    expect(keys.applicationOf('key-of-the-app-by-uid-0')).toBeUndefined();
    expect(ConfiguredAppKeys.parse([]).applicationOf('anything-at-all-here')).toBeUndefined();
  });

  it('refuse entries that cannot work, without quoting the key', () => {
    const refused = (entries: string[], admin: string[] = []) => {
      try {
        ConfiguredAppKeys.parse(entries, admin);
      } catch (error) {
        return (error as Error).message;
      }
      return undefined;
    };
    expect(refused(['just-a-key-without-an-app'])).toMatch(/not <application id or uid>=<key>/);
    expect(refused(['=key-without-an-application'])).toMatch(/not <application id or uid>=<key>/);
    expect(refused(['no spaces allowed=key-0123456789abcdef'])).toMatch(/neither an application id nor a uid/);
    expect(refused(['app-1=short'])).toMatch(/at least 16 characters/);
    expect(refused(['app-1=hpat_looks-like-a-token'])).toMatch(/may not start with hpat_/);
    expect(refused(['app-1=shared-key-0123456789', 'app-2=shared-key-0123456789'])).toMatch(/already used/);
    expect(refused(['app-1=the-admin-key-0123456789'], ['the-admin-key-0123456789'])).toMatch(/already used/);
    expect(refused(['app-1=secret-key-0123456789', 'app-2=short'])).not.toContain('secret-key-0123456789');
  });
});
