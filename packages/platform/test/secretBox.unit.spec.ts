import { randomBytes } from 'node:crypto';
import { SecretBox } from '../src/secretBox';

describe('SecretBox (AES-256-GCM secrets at rest)', () => {
  const k1 = { id: 'k1', key: randomBytes(32) };
  const k2 = { id: 'k2', key: randomBytes(32) };

  it('seals so the clear secret does not appear, and opens it again', () => {
    const box = new SecretBox([k1]);
    const sealed = box.seal('testsecretkey123456789012345678901234');
    expect(sealed).toMatch(/^sealed:v1:k1:/);
    expect(sealed).not.toContain('testsecretkey');
    expect(box.open(sealed)).toBe('testsecretkey123456789012345678901234');
    expect(box.seal('same')).not.toBe(box.seal('same'));
  });

  it('opens secrets sealed under an older key after the master key rotates', () => {
    const sealedWithOld = new SecretBox([k1]).seal('s3cret');
    const rotated = new SecretBox([k2, k1]);
    expect(rotated.open(sealedWithOld)).toBe('s3cret');
    expect(rotated.seal('x')).toMatch(/^sealed:v1:k2:/);
  });

  it('refuses a tampered ciphertext, an unknown key id and a short key', () => {
    const box = new SecretBox([k1]);
    const sealed = box.seal('s3cret');
    const bytes = Buffer.from(sealed.split(':')[3]!, 'base64');
    bytes[bytes.length - 1] = bytes[bytes.length - 1]! ^ 1;
    expect(() => box.open(`sealed:v1:k1:${bytes.toString('base64')}`)).toThrow();
    expect(() => new SecretBox([k2]).open(sealed)).toThrow('no key with id k1');
    expect(() => new SecretBox([{ id: 'short', key: randomBytes(16) }])).toThrow('32 bytes');
  });

  it('reads keys from configuration', () => {
    const box = SecretBox.fromConfig(`a:${randomBytes(32).toString('base64')},b:${randomBytes(32).toString('base64')}`);
    expect(box.seal('x')).toMatch(/^sealed:v1:a:/);
  });
});
