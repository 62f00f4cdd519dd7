import { isIP } from 'node:net';
import ipaddr from 'ipaddr.js';

/**
 * Which addresses the dispatcher may connect to. Only public unicast addresses: whatever ipaddr.js does not
 * call `unicast` is refused (loopback, private, link-local and cloud metadata, CGNAT, multicast, unspecified,
 * broadcast, reserved, documentation and benchmarking ranges, IPv6 ULA and link-local, ...), and so is IPv6
 * outside global unicast (2000::/3). IPv6 forms that carry an IPv4 address — IPv4-mapped, -translated and
 * -compatible, NAT64 (64:ff9b::/96, local-use 64:ff9b:1::/48), 6to4 (2002::/16) and Teredo (2001::/32) — are
 * judged by that IPv4 address. An allowlist of CIDRs, each optionally bound to one port, lets chosen
 * non-public targets through.
 *
 * The range data is ipaddr.js's (kept up to date with IANA's special-purpose registries); this module only
 * decides that "not unicast" means "refused" and names the result.
 */

type Address = ipaddr.IPv4 | ipaddr.IPv6;

/** A node-strict literal (dotted quad, no shorthand like 127.1), brackets and zone id removed, or undefined. */
function parse(text: string): Address | undefined {
  const bare = text.replace(/^\[|\]$/g, '');
  const family = isIP(bare);
  if (family === 0) return undefined;
  if (family === 4) return ipaddr.IPv4.parse(bare);
  // ipaddr.js reads the deprecated "::a.b.c.d" as IPv4-mapped (::ffff:a.b.c.d), another address than the one
  // the system connects to; the URL serializer writes every IPv6 literal in plain hex, as it is meant.
  return ipaddr.IPv6.parse(new URL(`http://[${bare.replace(/%.*$/, '')}]/`).hostname.slice(1, -1));
}

function cidr(text: string): [Address, number] {
  return ipaddr.parseCIDR(text);
}

const V4_NAMES: Record<string, string> = {
  unspecified: 'unspecified ("this network")',
  broadcast: 'reserved',
  multicast: 'multicast',
  linkLocal: 'link-local',
  loopback: 'loopback',
  carrierGradeNat: 'carrier-grade NAT',
  private: 'private',
  reserved: 'reserved',
  as112: 'AS112 anycast',
  amt: 'AMT anycast',
};

const V6_NAMES: Record<string, string> = {
  unspecified: 'unspecified',
  linkLocal: 'link-local',
  multicast: 'multicast',
  loopback: 'loopback',
  uniqueLocal: 'unique local (ULA)',
  deprecatedSiteLocal: 'site-local',
  discard: 'discard-only',
  benchmarking: 'benchmarking',
  amt: 'AMT anycast',
  as112v6: 'AS112 anycast',
  deprecatedOrchid: 'ORCHID',
  orchid2: 'ORCHIDv2',
  droneRemoteIdProtocolEntityTags: 'drone remote ID tags',
  segmentRouting: 'segment routing',
  reserved: 'reserved',
};

/** Finer names for parts of ranges that are refused anyway: they make an error say which (the decision is not theirs). */
const FINER_NAMES: [[Address, number], string][] = [
  [cidr('169.254.169.254/32'), 'cloud metadata'],
  [cidr('192.0.2.0/24'), 'documentation'],
  [cidr('198.51.100.0/24'), 'documentation'],
  [cidr('203.0.113.0/24'), 'documentation'],
  [cidr('198.18.0.0/15'), 'benchmarking'],
  [cidr('2001:db8::/32'), 'documentation'],
  [cidr('3fff::/20'), 'documentation'],
];

const GLOBAL_UNICAST_V6 = cidr('2000::/3');
const NAT64_WELL_KNOWN = cidr('64:ff9b::/96');
const NAT64_LOCAL_USE_96 = cidr('64:ff9b:1::/96');

function nameOf(address: Address, range: string, names: Record<string, string>): string {
  const finer = FINER_NAMES.find(([[base, bits]]) => base.kind() === address.kind() && address.match(base, bits));
  return finer?.[1] ?? names[range] ?? range;
}

function v4(high: number, low: number): ipaddr.IPv4 {
  return new ipaddr.IPv4([high >> 8, high & 0xff, low >> 8, low & 0xff]);
}

/** The IPv4 addresses an IPv6 address stands for, with the form's name; empty when it carries none. */
function embeddedV4(address: ipaddr.IPv6): { form: string; inner: ipaddr.IPv4 | undefined }[] {
  const p = address.parts as [number, number, number, number, number, number, number, number];
  const last32 = v4(p[6], p[7]);
  switch (address.range()) {
    case 'ipv4Mapped':
      return [{ form: 'IPv4-mapped', inner: last32 }];
    case 'rfc6145':
      return [{ form: 'IPv4-translated', inner: last32 }];
    case 'rfc6052':
      if (address.match(NAT64_WELL_KNOWN)) return [{ form: 'NAT64', inner: last32 }];
      // Local-use NAT64 (RFC 8215): where the IPv4 address sits depends on the prefix length the local
      // operator chose; only the /96 layout is read, any other is refused rather than guessed.
      return [{ form: 'NAT64 local-use', inner: address.match(NAT64_LOCAL_USE_96) ? last32 : undefined }];
    case '6to4':
      return [{ form: '6to4', inner: v4(p[1], p[2]) }];
    case 'teredo':
      // 2001:0:<server IPv4>:<flags>:<port>:<client IPv4 XOR ffff:ffff>; both ends must be public.
      return [
        { form: 'Teredo client', inner: v4(p[6] ^ 0xffff, p[7] ^ 0xffff) },
        { form: 'Teredo server', inner: v4(p[2], p[3]) },
      ];
    default:
      // IPv4-compatible (::a.b.c.d, deprecated), except :: and ::1 themselves
      if (p.slice(0, 6).every((part) => part === 0) && (p[6] !== 0 || p[7] > 1)) return [{ form: 'IPv4-compatible', inner: last32 }];
      return [];
  }
}

function v4Category(address: ipaddr.IPv4): string | undefined {
  const range = address.range();
  return range === 'unicast' ? undefined : nameOf(address, range, V4_NAMES);
}

/** Why an address is not a public unicast one, or undefined when it is. */
export function refusedCategory(text: string): string | undefined {
  const address = parse(text);
  if (!address) return 'not an IP address';
  if (address instanceof ipaddr.IPv4) return v4Category(address);
  const embedded = embeddedV4(address);
  if (embedded.length > 0) {
    for (const { form, inner } of embedded) {
      if (!inner) return `not a readable IPv4 address (${form})`;
      const category = v4Category(inner);
      if (category) return `${category} (${form})`;
    }
    return undefined;
  }
  const range = address.range();
  if (range !== 'unicast') return nameOf(address, range, V6_NAMES);
  return address.match(GLOBAL_UNICAST_V6) ? undefined : 'reserved (outside global unicast 2000::/3)';
}

type AllowEntry = { range: [Address, number]; port: number | undefined };

/**
 * `address`, `address/prefix`, either followed by `:port`; an IPv6 address takes a port only after a prefix
 * or in brackets (`::1/128:9999`, `[::1]:9999`). Anything else (an empty or out-of-range prefix or port
 * included) is refused.
 */
function allowEntry(text: string): AllowEntry {
  const invalid = () => new Error(`not a CIDR (address[/prefix][:port]): ${text}`);
  const withPort = /^(.*(?:\/\d+|\d+\.\d+\.\d+\.\d+|\]))(?::(\d{1,5}))$/.exec(text);
  const range = withPort ? withPort[1]! : text;
  const port = withPort ? Number(withPort[2]) : undefined;
  if (port !== undefined && !(port >= 1 && port <= 65_535)) throw invalid();
  const [addressText, bitsText, ...rest] = range.split('/') as [string, string | undefined];
  const address = parse(addressText);
  if (!address || (address.kind() === 'ipv6' && /%/.test(addressText))) throw invalid();
  const width = address.kind() === 'ipv4' ? 32 : 128;
  // (an empty prefix must not read as /0: "10.0.0.0/" would allow every address)
  const bits = bitsText === undefined ? width : /^\d{1,3}$/.test(bitsText) ? Number(bitsText) : NaN;
  if (rest.length > 0 || !(bits >= 0 && bits <= width)) throw invalid();
  return { range: [address, bits], port };
}

export class TargetPolicy {
  private readonly allowed: AllowEntry[];
  /** Ports some allowlist entry is bound to: a connection to any other port is judged without those entries. */
  readonly namedPorts: ReadonlySet<number>;

  constructor(allowedCidrs: readonly string[]) {
    this.allowed = allowedCidrs.map(allowEntry);
    this.namedPorts = new Set(this.allowed.flatMap((entry) => (entry.port === undefined ? [] : [entry.port])));
  }

  /**
   * Undefined when the dispatcher may connect to `address` (on `port`, when known), else why not. With no
   * port, only allowlist entries bound to no port apply.
   */
  refusal(address: string, port?: number): string | undefined {
    const category = refusedCategory(address);
    if (!category) return undefined;
    const parsed = parse(address);
    const allowed = this.allowed.some(
      ({ range: [base, bits], port: only }) => parsed?.kind() === base.kind() && parsed.match(base, bits) && (only === undefined || only === port),
    );
    return allowed ? undefined : `${address} is ${category}`;
  }

  /** For a URL whose host is an IP literal (in any form the URL parser accepts), why it is refused. */
  literalRefusal(url: string | URL): string | undefined {
    let target: URL;
    try {
      target = typeof url === 'string' ? new URL(url) : url;
    } catch {
      return undefined;
    }
    const address = target.hostname.replace(/^\[|\]$/g, '');
    return isIP(address) ? this.refusal(address, portOf(target)) : undefined;
  }
}

/** The port a URL connects to (its own, or its scheme's). */
function portOf(url: URL): number {
  return url.port ? Number(url.port) : url.protocol === 'https:' ? 443 : 80;
}
