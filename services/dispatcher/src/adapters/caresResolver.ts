import { promises as dnsPromises, type LookupAddress } from 'node:dns';
import { isIP } from 'node:net';
import { within } from '@hookpost/platform';

/** The addresses a target's host name stands for (IPv4 first), or a DnsFailure. */
export type ResolveAddresses = (hostname: string, family: 0 | 4 | 6) => Promise<LookupAddress[]>;

/** A name that did not resolve; `reason` is what the attempt log says (it names no server and no address). */
export class DnsFailure extends Error {
  readonly code = 'EHOOKPOST_DNS';

  constructor(readonly reason: 'DNS lookup timed out' | 'host not found' | 'DNS lookup failed') {
    super(reason);
    this.name = 'DnsFailure';
  }
}

export type CaresResolverOptions = {
  /** The whole lookup (A and AAAA, every try) fails after this long. */
  timeoutMs: number;
  /** Name servers (`address[:port]`) instead of the system's (/etc/resolv.conf); tests point this at loopback. */
  servers?: string[];
};

const LOOPBACK: LookupAddress[] = [
  { address: '127.0.0.1', family: 4 },
  { address: '::1', family: 6 },
];

function ofFamily(addresses: LookupAddress[], family: 0 | 4 | 6): LookupAddress[] {
  return family === 0 ? addresses : addresses.filter((address) => address.family === family);
}

function failureOf(error: unknown): DnsFailure {
  if (error instanceof DnsFailure) return error;
  switch ((error as { code?: string }).code) {
    case 'ETIMEOUT':
      return new DnsFailure('DNS lookup timed out');
    case 'ENOTFOUND':
    case 'ENODATA':
    case 'ENONAME':
      return new DnsFailure('host not found');
    default:
      return new DnsFailure('DNS lookup failed');
  }
}

/**
 * Resolves with c-ares (dns.Resolver) instead of dns.lookup. dns.lookup runs getaddrinfo on libuv's worker
 * threads, four by default and shared with file I/O and crypto, and has no timeout: a few slow DNS zones
 * would hold every thread and stall every delivery behind them. c-ares runs on the event loop, and every
 * lookup here ends within `timeoutMs`, a timeout failing the attempt like any network error (it is retried).
 *
 * What it does not do is read /etc/hosts or other NSS sources: a delivery target is a public name. IP
 * literals pass through, and `localhost` (with `*.localhost`, RFC 6761) is loopback without asking anyone;
 * the target policy still decides whether those may be connected to.
 */
export function caresResolver(options: CaresResolverOptions): ResolveAddresses {
  const tries = 2;
  // c-ares' own timeout is per try (and grows on later tries); `within` bounds the whole lookup.
  const resolver = new dnsPromises.Resolver({ timeout: Math.max(1, Math.floor(options.timeoutMs / tries)), tries });
  if (options.servers) resolver.setServers(options.servers);
  const timedOut = () => new DnsFailure('DNS lookup timed out');
  return async (hostname, family) => {
    const name = hostname.replace(/^\[|\]$/g, '').replace(/\.$/, '').toLowerCase();
    const literal = isIP(name);
    if (literal === 4 || literal === 6) return ofFamily([{ address: name, family: literal }], family);
    if (name === 'localhost' || name.endsWith('.localhost')) return ofFamily(LOOPBACK, family);
    const v4 = family === 6 ? Promise.resolve([]) : resolver.resolve4(name);
    const v6 = family === 4 ? Promise.resolve([]) : resolver.resolve6(name);
    // (not resolver.cancel(), which would end every other lookup in flight too; c-ares gives up on its own)
    const [a, aaaa] = await within(options.timeoutMs, Promise.allSettled([v4, v6])).catch(() => {
      throw timedOut();
    });
    const addresses: LookupAddress[] = [
      ...(a.status === 'fulfilled' ? a.value.map((address) => ({ address, family: 4 })) : []),
      ...(aaaa.status === 'fulfilled' ? aaaa.value.map((address) => ({ address, family: 6 })) : []),
    ];
    if (addresses.length > 0) return addresses;
    // Nothing resolved: a timeout on either family says more than "no such record" on the other.
    const errors = [a, aaaa].flatMap((settled) => (settled.status === 'rejected' ? [failureOf(settled.reason)] : []));
    throw errors.find((error) => error.reason === 'DNS lookup timed out') ?? errors.find((error) => error.reason === 'DNS lookup failed') ?? new DnsFailure('host not found');
  };
}
