import { createCipheriv, randomBytes } from 'node:crypto';
import { SecretBox, sealedFor } from '../src/secretBox';

/** How values were sealed before associated data (sealed:v1), as they are in logs written then. */
function sealV1(key: { id: string; key: Buffer }, plaintext: string, tagBytes = 16): string {
  const iv = randomBytes(12);
  const cipher = createCipheriv('aes-256-gcm', key.key, iv, { authTagLength: tagBytes });
  const ciphertext = Buffer.concat([cipher.update(plaintext, 'utf8'), cipher.final()]);
  return `sealed:v1:${key.id}:${Buffer.concat([iv, cipher.getAuthTag(), ciphertext]).toString('base64')}`;
}

describe('SecretBox (AES-256-GCM secrets at rest)', () => {
  const k1 = { id: 'k1', key: randomBytes(32) };
  const k2 = { id: 'k2', key: randomBytes(32) };
  const subscriptionA = '00000000-0000-4000-8000-00000000000a';
  const subscriptionB = '00000000-0000-4000-8000-00000000000b';
  const secretOfA = sealedFor(subscriptionA, 'secret');

  it('seals so the clear secret does not appear, and opens it again for what it was sealed for', () => {
    const box = new SecretBox([k1]);
    const sealed = box.seal('testsecretkey123456789012345678901234', secretOfA);
    expect(sealed).toMatch(/^sealed:v2:k1:/);
    expect(sealed).not.toContain('testsecretkey');
    expect(box.open(sealed, secretOfA)).toBe('testsecretkey123456789012345678901234');
    expect(box.seal('same', secretOfA)).not.toBe(box.seal('same', secretOfA));
  });

  it('does not open a value sealed for one subscription in another, nor a secret as a previous secret', () => {
    // Given a secret sealed for subscription A's current secret
    const box = new SecretBox([k1]);
    const sealed = box.seal('whsec_' + randomBytes(32).toString('base64'), secretOfA);
    // Then it opens nowhere else: another subscription, another field
    expect(() => box.open(sealed, sealedFor(subscriptionB, 'secret'))).toThrow(`does not open as subscription:${subscriptionB}:secret under key k1`);
    expect(() => box.open(sealed, sealedFor(subscriptionA, 'previous_secret'))).toThrow('sealed for another subscription or field');
  });

  it('still opens sealed:v1 values (no associated data) so logs written before keep delivering', () => {
    const old = sealV1(k1, 's3cret');
    const box = new SecretBox([k2, k1]);
    expect(box.open(old, secretOfA)).toBe('s3cret');
    expect(box.isCurrent(old)).toBe(false);
  });

  it('opens secrets sealed under an older key after the master key rotates, and says which are not current', () => {
    const sealedWithOld = new SecretBox([k1]).seal('s3cret', secretOfA);
    const rotated = new SecretBox([k2, k1]);
    expect(rotated.open(sealedWithOld, secretOfA)).toBe('s3cret');
    expect(rotated.seal('x', secretOfA)).toMatch(/^sealed:v2:k2:/);
    expect(rotated.isCurrent(sealedWithOld)).toBe(false);
    expect(rotated.isCurrent(rotated.seal('x', secretOfA))).toBe(true);
    expect(rotated.isCurrent('not sealed')).toBe(false);
  });

  it('refuses a tampered ciphertext, an unknown key id, a short tag and a short key', () => {
    const box = new SecretBox([k1]);
    const sealed = box.seal('s3cret', secretOfA);
    const bytes = Buffer.from(sealed.split(':')[3]!, 'base64');
    bytes[bytes.length - 1] = bytes[bytes.length - 1]! ^ 1;
    expect(() => box.open(`sealed:v2:k1:${bytes.toString('base64')}`, secretOfA)).toThrow('or altered');
    expect(() => new SecretBox([k2]).open(sealed, secretOfA)).toThrow('no key with id k1 in HOOKPOST_SECRET_KEYS');
    // A 4-byte tag is a 2^32 forgery; GCM takes it unless told the length. Empty plaintext: nothing after it.
    expect(() => box.open(sealV1(k1, '', 4), secretOfA)).toThrow('truncated');
    expect(() => box.open(sealed.replace('sealed:v2:', 'sealed:v3:'), secretOfA)).toThrow('unknown sealed format');
    expect(() => box.open('whsec_plain', secretOfA)).toThrow('not a sealed value');
    expect(() => new SecretBox([{ id: 'short', key: randomBytes(16) }])).toThrow('32 bytes');
  });

  it('reads keys from configuration: the first seals', () => {
    const box = SecretBox.fromConfig(`a:${randomBytes(32).toString('base64')},b:${randomBytes(32).toString('base64')}`);
    expect(box.seal('x', secretOfA)).toMatch(/^sealed:v2:a:/);
  });
});
