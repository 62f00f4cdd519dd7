import { isIP } from 'node:net';

/**
 * Which addresses the dispatcher may connect to. Everything that is not a public unicast address is
 * refused (loopback, private, link-local and cloud metadata, CGNAT, multicast, unspecified, reserved,
 * documentation ranges, IPv6 ULA and link-local, and the IPv4-mapped, -compatible and NAT64 forms of
 * them) unless an allowlist of CIDRs permits it.
 */

type Range = { family: 4 | 6; base: bigint; bits: number; label: string };

function parseIPv4(text: string): bigint | undefined {
  if (isIP(text) !== 4) return undefined;
  return text.split('.').reduce((value, octet) => (value << 8n) | BigInt(Number(octet)), 0n);
}

function parseIPv6(text: string): bigint | undefined {
  let address = text.replace(/^\[|\]$/g, '').replace(/%.*$/, '');
  if (isIP(address) !== 6) return undefined;
  const dotted = /(\d+\.\d+\.\d+\.\d+)$/.exec(address);
  if (dotted) {
    const v4 = parseIPv4(dotted[1]!)!;
    address = `${address.slice(0, -dotted[1]!.length)}${((v4 >> 16n) & 0xffffn).toString(16)}:${(v4 & 0xffffn).toString(16)}`;
  }
  const [head, rest] = address.split('::') as [string, string | undefined];
  const headGroups = head ? head.split(':') : [];
  const restGroups = rest === undefined ? undefined : rest ? rest.split(':') : [];
  const groups = restGroups === undefined ? headGroups : [...headGroups, ...Array<string>(8 - headGroups.length - restGroups.length).fill('0'), ...restGroups];
  if (groups.length !== 8) return undefined;
  return groups.reduce((value, group) => (value << 16n) | BigInt(parseInt(group, 16)), 0n);
}

/** `address` or `address/prefix`; anything else (an empty or out-of-range prefix included) is refused. */
function cidr(text: string, label: string): Range {
  const [address, bitsText, ...rest] = text.split('/') as [string, string | undefined];
  const v4 = parseIPv4(address);
  const v6 = v4 === undefined ? parseIPv6(address) : undefined;
  const family = v4 !== undefined ? 4 : 6;
  const width = family === 4 ? 32 : 128;
  const bits = bitsText === undefined ? width : /^\d{1,3}$/.test(bitsText) ? Number(bitsText) : NaN;
  // (an empty prefix must not read as /0: "10.0.0.0/" would allow every address)
  if ((v4 ?? v6) === undefined || rest.length > 0 || !(bits >= 0 && bits <= width)) throw new Error(`not a CIDR: ${text}`);
  return { family, base: (v4 ?? v6)!, bits, label };
}

function inRange(range: Range, family: 4 | 6, value: bigint): boolean {
  if (range.family !== family) return false;
  const width = family === 4 ? 32 : 128;
  const shift = BigInt(width - range.bits);
  return value >> shift === range.base >> shift;
}

const REFUSED_V4: Range[] = [
  cidr('0.0.0.0/8', 'unspecified ("this network")'),
  cidr('10.0.0.0/8', 'private'),
  cidr('100.64.0.0/10', 'carrier-grade NAT'),
  cidr('127.0.0.0/8', 'loopback'),
  cidr('169.254.169.254/32', 'cloud metadata'),
  cidr('169.254.0.0/16', 'link-local'),
  cidr('172.16.0.0/12', 'private'),
  cidr('192.0.0.0/24', 'IETF protocol assignments'),
  cidr('192.0.2.0/24', 'documentation'),
  cidr('192.88.99.0/24', '6to4 relay anycast'),
  cidr('192.168.0.0/16', 'private'),
  cidr('198.18.0.0/15', 'benchmarking'),
  cidr('198.51.100.0/24', 'documentation'),
  cidr('203.0.113.0/24', 'documentation'),
  cidr('224.0.0.0/4', 'multicast'),
  cidr('240.0.0.0/4', 'reserved'),
];

const REFUSED_V6: Range[] = [
  cidr('::/128', 'unspecified'),
  cidr('::1/128', 'loopback'),
  cidr('100::/64', 'discard-only'),
  cidr('2001:db8::/32', 'documentation'),
  cidr('fc00::/7', 'unique local (ULA)'),
  cidr('fe80::/10', 'link-local'),
  cidr('fec0::/10', 'site-local'),
  cidr('ff00::/8', 'multicast'),
];

/** IPv6 forms that carry an IPv4 address in their last 32 bits: judged by that address. */
const EMBEDS_V4: Range[] = [cidr('::ffff:0:0/96', 'IPv4-mapped'), cidr('64:ff9b::/96', 'NAT64'), cidr('::/96', 'IPv4-compatible')];

export type Parsed = { family: 4 | 6; value: bigint };

export function parseAddress(text: string): Parsed | undefined {
  const v4 = parseIPv4(text);
  if (v4 !== undefined) return { family: 4, value: v4 };
  const v6 = parseIPv6(text);
  return v6 === undefined ? undefined : { family: 6, value: v6 };
}

/** Why an address is not a public unicast one, or undefined when it is. */
export function refusedCategory(address: string): string | undefined {
  const parsed = parseAddress(address);
  if (!parsed) return 'not an IP address';
  if (parsed.family === 4) return REFUSED_V4.find((range) => inRange(range, 4, parsed.value))?.label;
  const embedding = EMBEDS_V4.find((range) => inRange(range, 6, parsed.value));
  if (embedding && parsed.value !== 0n && parsed.value !== 1n) {
    const inner = parsed.value & 0xffffffffn;
    const label = REFUSED_V4.find((range) => inRange(range, 4, inner))?.label;
    return label ? `${label} (${embedding.label})` : undefined;
  }
  return REFUSED_V6.find((range) => inRange(range, 6, parsed.value))?.label;
}

export class TargetPolicy {
  private readonly allowed: Range[];

  constructor(allowedCidrs: readonly string[]) {
    this.allowed = allowedCidrs.map((text) => cidr(text, 'allowed'));
  }

  /** Undefined when the dispatcher may connect to `address`, else why not. */
  refusal(address: string): string | undefined {
    const category = refusedCategory(address);
    if (!category) return undefined;
    const parsed = parseAddress(address);
    if (parsed && this.allowed.some((range) => inRange(range, parsed.family, parsed.value))) return undefined;
    return `${address} is ${category}`;
  }

  /** For a URL whose host is an IP literal (in any form the URL parser accepts), why it is refused. */
  literalRefusal(url: string | URL): string | undefined {
    let host: string;
    try {
      host = (typeof url === 'string' ? new URL(url) : url).hostname;
    } catch {
      return undefined;
    }
    const address = host.replace(/^\[|\]$/g, '');
    return isIP(address) ? this.refusal(address) : undefined;
  }
}
