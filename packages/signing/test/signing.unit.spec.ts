import { generateSecret, generateSigningKeyPair, hmacSecretProblem, publicKeyOf, secretKeyBytes, sign, signedHeaders, verify, WebhookVerificationError } from '../src/index';

// The example published with the Standard Webhooks specification (and Svix's documentation).
const vector = {
  secret: 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw',
  id: 'msg_p5jXN8AQM9LWM0D4loKWxJek',
  timestamp: 1614265330,
  body: '{"test": 2432232314}',
  signature: 'v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=',
};
const at = (seconds: number) => new Date(seconds * 1000);

describe('Standard Webhooks signing', () => {
  it('reproduces the specification example signature', () => {
    expect(sign(vector.secret, vector.id, at(vector.timestamp), vector.body)).toBe(vector.signature);
  });

  it('verifies the specification example within the tolerance and returns the body', () => {
    const headers = { 'webhook-id': vector.id, 'webhook-timestamp': String(vector.timestamp), 'webhook-signature': vector.signature };
    expect(verify(vector.secret, vector.body, headers, { now: at(vector.timestamp + 60) })).toEqual({ test: 2432232314 });
  });

  it('rejects a tampered body, a wrong secret, an old or future timestamp, and missing headers', () => {
    const headers = { 'webhook-id': vector.id, 'webhook-timestamp': String(vector.timestamp), 'webhook-signature': vector.signature };
    const now = { now: at(vector.timestamp) };
    expect(() => verify(vector.secret, '{"test": 1}', headers, now)).toThrow(WebhookVerificationError);
    expect(() => verify('whsec_' + Buffer.from('another secret of enough length').toString('base64'), vector.body, headers, now)).toThrow(
      'no matching signature',
    );
    expect(() => verify(vector.secret, vector.body, headers, { now: at(vector.timestamp + 301) })).toThrow('too old');
    expect(() => verify(vector.secret, vector.body, headers, { now: at(vector.timestamp - 301) })).toThrow('too new');
    expect(() => verify(vector.secret, vector.body, { 'webhook-id': vector.id }, now)).toThrow('missing webhook-timestamp');
  });

  it('accepts a message carrying several signatures when any one matches (secret rotation)', () => {
    const headers = signedHeaders(['old-secret-0123456789', vector.secret], vector.id, at(vector.timestamp), vector.body);
    expect(headers['webhook-signature'].split(' ')).toHaveLength(2);
    expect(verify(vector.secret, vector.body, headers, { now: at(vector.timestamp) })).toEqual({ test: 2432232314 });
    expect(verify('old-secret-0123456789', vector.body, headers, { now: at(vector.timestamp) })).toEqual({ test: 2432232314 });
  });

  it('uses whsec_ secrets as base64 bytes and any other secret as its UTF-8 bytes', () => {
    expect(secretKeyBytes('whsec_AAEC')).toEqual(Buffer.from([0, 1, 2]));
    expect(secretKeyBytes('testsecretkey123')).toEqual(Buffer.from('testsecretkey123', 'utf8'));
  });

  it('generates whsec_ secrets of 24 to 64 random bytes', () => {
    const secret = generateSecret(32);
    expect(secret).toMatch(/^whsec_[A-Za-z0-9+/]+=*$/);
    expect(secretKeyBytes(secret)).toHaveLength(32);
    expect(generateSecret()).not.toBe(generateSecret());
    expect(() => generateSecret(16)).toThrow(RangeError);
  });
});

describe('ed25519 (v1a) signatures', () => {
  it('signs with a whsk_ key and verifies with its whpk_ public key', () => {
    const { signingKey, publicKey } = generateSigningKeyPair();
    expect(signingKey).toMatch(/^whsk_[A-Za-z0-9+/]{43}=$/);
    expect(publicKey).toMatch(/^whpk_[A-Za-z0-9+/]{43}=$/);
    expect(publicKeyOf(signingKey)).toBe(publicKey);
    const headers = signedHeaders([signingKey], vector.id, at(vector.timestamp), vector.body);
    expect(headers['webhook-signature']).toMatch(/^v1a,/);
    expect(verify(publicKey, vector.body, headers, { now: at(vector.timestamp) })).toEqual({ test: 2432232314 });
    expect(() => verify(publicKey, '{"test": 1}', headers, { now: at(vector.timestamp) })).toThrow('no matching signature');
    expect(() => verify(generateSigningKeyPair().publicKey, vector.body, headers, { now: at(vector.timestamp) })).toThrow('no matching signature');
  });

  it('does not accept a v1a signature for a symmetric secret, nor a v1 one for a public key', () => {
    const { signingKey, publicKey } = generateSigningKeyPair();
    const asymmetric = signedHeaders([signingKey], vector.id, at(vector.timestamp), vector.body);
    const symmetric = signedHeaders([vector.secret], vector.id, at(vector.timestamp), vector.body);
    expect(() => verify(vector.secret, vector.body, asymmetric, { now: at(vector.timestamp) })).toThrow(WebhookVerificationError);
    expect(() => verify(publicKey, vector.body, symmetric, { now: at(vector.timestamp) })).toThrow(WebhookVerificationError);
  });
});

describe('hmacSecretProblem (what an HMAC subscription may be given as its secret)', () => {
  const whsec = (bytes: number) => 'whsec_' + Buffer.alloc(bytes, 7).toString('base64');

  it('takes whsec_ secrets of 24 to 64 bytes, padded or not, generated ones, and any other string', () => {
    expect(hmacSecretProblem(vector.secret)).toBeUndefined();
    expect(hmacSecretProblem(whsec(24))).toBeUndefined();
    expect(hmacSecretProblem(whsec(64))).toBeUndefined();
    expect(hmacSecretProblem(whsec(25).replace(/=+$/, ''))).toBeUndefined();
    expect(hmacSecretProblem(generateSecret())).toBeUndefined();
    expect(hmacSecretProblem('testsecretkey123')).toBeUndefined();
    expect(hmacSecretProblem('whsec-is-not-the-prefix-here')).toBeUndefined();
  });

  it('refuses ed25519 key formats, which signing would take for an ed25519 key', () => {
    const { signingKey, publicKey } = generateSigningKeyPair();
    expect(hmacSecretProblem('whsk_AAAAAAAAAAAAAAAAAAAAAAAA')).toMatch(/ed25519 key/);
    expect(hmacSecretProblem(signingKey)).toMatch(/ed25519 key/);
    expect(hmacSecretProblem(publicKey)).toMatch(/ed25519 key/);
  });

  it('refuses a whsec_ secret outside 24 to 64 bytes, saying how many it has', () => {
    expect(hmacSecretProblem(whsec(23))).toBe('must be whsec_ followed by base64 of 24 to 64 bytes, not 23');
    expect(hmacSecretProblem(whsec(65))).toMatch(/not 65$/);
    expect(hmacSecretProblem('whsec_')).toMatch(/not 0$/);
    expect(hmacSecretProblem('whsec_AAEC')).toMatch(/not 3$/);
  });

  it('refuses a whsec_ secret that is not standard base64 (receivers would derive other bytes)', () => {
    const base64url = 'whsec_' + Buffer.alloc(30, 0xfb).toString('base64url');
    expect(base64url).toMatch(/[-_]/);
    for (const secret of [base64url, whsec(32) + '!', 'whsec_ ' + whsec(32).slice(6), whsec(32).slice(0, -1) + '===', 'whsec_A' + whsec(32).slice(6)]) {
      expect(hmacSecretProblem(secret)).toBe('must be whsec_ followed by standard base64');
    }
  });
});
