/**
 * The master keys that seal endpoint secrets (HOOKPOST_SECRET_KEYS): `<key id>:<base64 of 32 bytes>`,
 * comma-separated; the first seals, every one opens. There is no built-in key: a key written anywhere in this
 * repository is public, and with it anyone holding one sealed value (the Kafka log, PostgreSQL, Redis, a
 * backup) could open every endpoint secret and forge webhooks to every receiver.
 */

export type MasterKey = Readonly<{ id: string; key: Buffer }>;

/**
 * Every master key ever published in this repository (as a default, in docs, compose files or tests), by its
 * base64 bytes: a service refuses to start with any of them, whatever id it is given. One place: a unit test
 * (masterKeys.unit.spec.ts) finds every `<id>:<base64 of 32 bytes>` in the tracked files and fails on one that
 * is not listed here.
 */
export const publishedMasterKeys: ReadonlyArray<Readonly<{ key: string; where: string }>> = [
  { key: 'aG9va3Bvc3QtZGV2ZWxvcG1lbnQtb25seS1rZXkhISE=', where: 'the built-in development key of env.ts and docker-compose.yml until issue #12' },
];

export const HOW_TO_MAKE_A_MASTER_KEY = 'generate one with: HOOKPOST_SECRET_KEYS="k1:$(openssl rand -base64 32)"';

/** Why HOOKPOST_SECRET_KEYS cannot be used. Its message never contains key material. */
export class MasterKeyError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'MasterKeyError';
  }
}

const KEY_ID = /^[A-Za-z0-9_-]{1,64}$/;

/** Parses and checks HOOKPOST_SECRET_KEYS; throws MasterKeyError saying what to set. */
export function parseMasterKeys(config: string | undefined): MasterKey[] {
  if (config === undefined || config.trim() === '') {
    throw new MasterKeyError(
      'is required: set it to <key id>:<base64 of 32 bytes> (comma-separated; the first seals endpoint secrets, all open them); ' +
        `${HOW_TO_MAKE_A_MASTER_KEY} (npm start makes one per checkout in .hookpost/secret-keys)`,
    );
  }
  const keys = config.split(',').map((entry, index) => parseEntry(entry.trim(), index + 1));
  const ids = new Set<string>();
  for (const { id } of keys) {
    if (ids.has(id)) throw new MasterKeyError(`names key id "${id}" twice; each key needs its own id`);
    ids.add(id);
  }
  return keys;
}

function parseEntry(entry: string, position: number): MasterKey {
  const colon = entry.indexOf(':');
  // Nothing of the entry is quoted back: it may be the key itself, pasted without an id.
  if (colon <= 0) throw new MasterKeyError(`entry ${position} is not <key id>:<base64 of 32 bytes>; ${HOW_TO_MAKE_A_MASTER_KEY}`);
  const id = entry.slice(0, colon);
  const encoded = entry.slice(colon + 1);
  if (!KEY_ID.test(id)) throw new MasterKeyError(`entry ${position}: a key id is 1 to 64 letters, digits, _ or -`);
  const key = Buffer.from(encoded, 'base64');
  if (key.toString('base64') !== encoded || key.length !== 32) {
    throw new MasterKeyError(`key "${id}" must be standard base64 of 32 random bytes; ${HOW_TO_MAKE_A_MASTER_KEY}`);
  }
  const published = publishedMasterKeys.find((known) => Buffer.from(known.key, 'base64').equals(key));
  if (published) {
    throw new MasterKeyError(`key "${id}" is published (${published.where}), so anyone can open what it seals; ${HOW_TO_MAKE_A_MASTER_KEY}`);
  }
  return { id, key };
}
