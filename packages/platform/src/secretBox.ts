import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';

/**
 * Endpoint secrets at rest (Kafka events, PostgreSQL, Redis) are sealed with AES-256-GCM under a key id, so
 * the master key can be rotated: the first key seals, every listed key opens.
 * Sealed form: `sealed:v1:<key id>:<base64 of iv(12) | tag(16) | ciphertext>`.
 */
export class SecretBox {
  private readonly keys: Map<string, Buffer>;
  private readonly activeKeyId: string;

  constructor(keys: ReadonlyArray<{ id: string; key: Buffer }>) {
    if (keys.length === 0) throw new Error('SecretBox needs at least one key');
    for (const { id, key } of keys) {
      if (key.length !== 32) throw new Error(`secret key ${id} must be 32 bytes, got ${key.length}`);
      if (!/^[A-Za-z0-9_-]+$/.test(id)) throw new Error(`secret key id "${id}" must be [A-Za-z0-9_-]+`);
    }
    this.keys = new Map(keys.map(({ id, key }) => [id, key]));
    this.activeKeyId = keys[0]!.id;
  }

  /** Parses `id:base64,id:base64`. */
  static fromConfig(config: string): SecretBox {
    return new SecretBox(
      config.split(',').map((entry) => {
        const [id, key] = entry.trim().split(':', 2);
        if (!id || !key) throw new Error('HOOKPOST_SECRET_KEYS entries look like <id>:<base64 of 32 bytes>');
        return { id, key: Buffer.from(key, 'base64') };
      }),
    );
  }

  seal(plaintext: string): string {
    const iv = randomBytes(12);
    const cipher = createCipheriv('aes-256-gcm', this.keys.get(this.activeKeyId)!, iv);
    const ciphertext = Buffer.concat([cipher.update(plaintext, 'utf8'), cipher.final()]);
    return `sealed:v1:${this.activeKeyId}:${Buffer.concat([iv, cipher.getAuthTag(), ciphertext]).toString('base64')}`;
  }

  open(sealed: string): string {
    const [marker, version, keyId, blob] = sealed.split(':');
    if (marker !== 'sealed' || version !== 'v1' || !keyId || !blob) throw new Error('not a sealed secret');
    const key = this.keys.get(keyId);
    if (!key) throw new Error(`no key with id ${keyId} to open this secret`);
    const bytes = Buffer.from(blob, 'base64');
    const decipher = createDecipheriv('aes-256-gcm', key, bytes.subarray(0, 12));
    decipher.setAuthTag(bytes.subarray(12, 28));
    return Buffer.concat([decipher.update(bytes.subarray(28)), decipher.final()]).toString('utf8');
  }
}
