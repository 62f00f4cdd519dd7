import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import { parseMasterKeys, type MasterKey } from './masterKeys';

/** The fields of a subscription that hold a sealed value. */
export type SealedField = 'secret' | 'previous_secret';

/**
 * What a sealed value is bound to (its associated data): the subscription that owns it and the field it is
 * kept in. A value copied into another subscription, or from `secret` into `previous_secret`, does not open.
 */
export function sealedFor(subscriptionId: string, field: SealedField): string {
  return `subscription:${subscriptionId}:${field}`;
}

/** A sealed value that does not open here: malformed, under a key this process lacks, or not bound to where it was found. */
export class SealedValueError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'SealedValueError';
  }
}

const IV_BYTES = 12;
/** Fixed, and checked when opening: GCM accepts shorter tags, which are easier to forge. */
const TAG_BYTES = 16;

/**
 * Endpoint secrets at rest (Kafka events, PostgreSQL, Redis) are sealed with AES-256-GCM under a key id, so
 * the master key can be rotated: the first key seals, every listed key opens.
 * Sealed form: `sealed:v2:<key id>:<base64 of iv(12) | tag(16) | ciphertext>`, with what it is sealed for
 * (see sealedFor) as associated data. `sealed:v1:` values (no associated data) are from before; they still
 * open, so the log written then keeps delivering, and `npm run reseal` turns them into v2.
 */
export class SecretBox {
  private readonly keys: Map<string, Buffer>;
  private readonly activeKeyId: string;

  constructor(keys: ReadonlyArray<MasterKey>) {
    if (keys.length === 0) throw new Error('SecretBox needs at least one key');
    for (const { id, key } of keys) {
      if (key.length !== 32) throw new Error(`secret key ${id} must be 32 bytes, got ${key.length}`);
      if (!/^[A-Za-z0-9_-]+$/.test(id)) throw new Error(`secret key id "${id}" must be [A-Za-z0-9_-]+`);
    }
    this.keys = new Map(keys.map(({ id, key }) => [id, key]));
    this.activeKeyId = keys[0]!.id;
  }

  /** Parses `id:base64,id:base64` (see parseMasterKeys: published keys are refused). */
  static fromConfig(config: string): SecretBox {
    return new SecretBox(parseMasterKeys(config));
  }

  seal(plaintext: string, context: string): string {
    const iv = randomBytes(IV_BYTES);
    const cipher = createCipheriv('aes-256-gcm', this.keys.get(this.activeKeyId)!, iv, { authTagLength: TAG_BYTES });
    cipher.setAAD(Buffer.from(context, 'utf8'));
    const ciphertext = Buffer.concat([cipher.update(plaintext, 'utf8'), cipher.final()]);
    return `sealed:v2:${this.activeKeyId}:${Buffer.concat([iv, cipher.getAuthTag(), ciphertext]).toString('base64')}`;
  }

  /** Opens a value sealed for `context`; throws SealedValueError saying why it does not open. */
  open(sealed: string, context: string): string {
    const { version, keyId, blob } = parse(sealed);
    const key = this.keys.get(keyId);
    if (!key) throw new SealedValueError(`no key with id ${keyId} in HOOKPOST_SECRET_KEYS (removed before everything it sealed was re-sealed?)`);
    const bytes = Buffer.from(blob, 'base64');
    if (bytes.length < IV_BYTES + TAG_BYTES) throw new SealedValueError('the sealed value is truncated');
    const decipher = createDecipheriv('aes-256-gcm', key, bytes.subarray(0, IV_BYTES), { authTagLength: TAG_BYTES });
    if (version === 'v2') decipher.setAAD(Buffer.from(context, 'utf8'));
    decipher.setAuthTag(bytes.subarray(IV_BYTES, IV_BYTES + TAG_BYTES));
    try {
      return Buffer.concat([decipher.update(bytes.subarray(IV_BYTES + TAG_BYTES)), decipher.final()]).toString('utf8');
    } catch {
      throw new SealedValueError(`it does not open as ${context} under key ${keyId}: sealed for another subscription or field, or altered`);
    }
  }

  /** How every value seal() seals today begins: a store can find, in SQL, the values sealed otherwise. */
  get currentPrefix(): string {
    return `sealed:v2:${this.activeKeyId}:`;
  }

  /** Whether a value is sealed the way seal() seals today (v2, the first key): if not, `npm run reseal` re-seals it. */
  isCurrent(sealed: string): boolean {
    try {
      const { version, keyId } = parse(sealed);
      return version === 'v2' && keyId === this.activeKeyId;
    } catch {
      return false;
    }
  }
}

function parse(sealed: string): { version: 'v1' | 'v2'; keyId: string; blob: string } {
  const [marker, version, keyId, blob, ...rest] = sealed.split(':');
  if (marker !== 'sealed' || !keyId || !blob || rest.length > 0) throw new SealedValueError('not a sealed value');
  if (version !== 'v1' && version !== 'v2') throw new SealedValueError(`unknown sealed format ${JSON.stringify(String(version).slice(0, 16))}`);
  return { version, keyId, blob };
}
