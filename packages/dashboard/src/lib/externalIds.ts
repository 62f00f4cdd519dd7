import { sha256 } from './sha256';

/**
 * The Svix API's ids (`app_…`, `ep_…`, `msg_…`) for the UUIDs the seed API shows, and back: the same mapping as
 * packages/contracts/src/svix/ids.ts (which uses Node's crypto), redone for the browser. The dashboard lists
 * deliveries through the seed API's search (UUIDs) and acts on them through the Svix API (external ids); the
 * unit test checks both mappings agree.
 */
export type ExternalIdPrefix = 'app' | 'ep' | 'msg' | 'atmpt';

const ALPHABET = '0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz';
const DIGITS = 27;
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

function hexBytes(hex: string): Uint8Array {
  const bytes = new Uint8Array(hex.length / 2);
  for (let i = 0; i < bytes.length; i++) bytes[i] = parseInt(hex.slice(i * 2, i * 2 + 2), 16);
  return bytes;
}

function check(prefix: ExternalIdPrefix, bytes: Uint8Array): bigint {
  const label = new TextEncoder().encode(`${prefix}_`);
  const input = new Uint8Array(label.length + bytes.length);
  input.set(label);
  input.set(bytes, label.length);
  const digest = sha256(input);
  return BigInt(new DataView(digest.buffer).getUint32(0));
}

export function toExternalId(prefix: ExternalIdPrefix, uuid: string): string {
  const lower = uuid.toLowerCase();
  if (!UUID.test(lower)) throw new RangeError(`not a UUID: ${uuid}`);
  const hex = lower.replace(/-/g, '');
  let value = (BigInt(`0x${hex}`) << 32n) | check(prefix, hexBytes(hex));
  let digits = '';
  for (let i = 0; i < DIGITS; i++) {
    digits = ALPHABET[Number(value % 62n)] + digits;
    value /= 62n;
  }
  return `${prefix}_${digits}`;
}

/** The UUID an external id names, or undefined when it is not one (a uid, a typo). */
export function fromExternalId(prefix: ExternalIdPrefix, text: string): string | undefined {
  if (text.length !== prefix.length + 1 + DIGITS || !text.startsWith(`${prefix}_`)) return undefined;
  let value = 0n;
  for (const char of text.slice(prefix.length + 1)) {
    const digit = ALPHABET.indexOf(char);
    if (digit < 0) return undefined;
    value = value * 62n + BigInt(digit);
  }
  if (value >> 160n !== 0n) return undefined;
  const hex = (value >> 32n).toString(16).padStart(32, '0');
  if ((value & 0xffffffffn) !== check(prefix, hexBytes(hex))) return undefined;
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}
