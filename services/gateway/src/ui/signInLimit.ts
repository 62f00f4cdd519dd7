/**
 * The dashboard's sign-in takes an admin API key; failed attempts are limited per client address, so a key
 * cannot be guessed at the speed of the network. Failures are counted in a fixed window that starts with the
 * first one (`HOOKPOST_UI_SIGN_IN_WINDOW_MS`); at `HOOKPOST_UI_SIGN_IN_MAX_FAILURES` the address is refused
 * (429, Retry-After) until the window ends — a correct key included, or the lock would tell a guesser when it
 * guessed right. A success is not counted and does not clear the count.
 */
export type SignInLimit = Readonly<{ maxFailures: number; windowMs: number }>;

/** An address's failures in its current window, and how long until the window ends. */
export type SignInFailures = Readonly<{ failures: number; resetsInMs: number }>;

export type SignInGate = Readonly<{ kind: 'open' }> | Readonly<{ kind: 'locked'; retryAfterSeconds: number }>;

export function decideSignInGate(current: SignInFailures | undefined, limit: SignInLimit): SignInGate {
  if (!current || current.failures < limit.maxFailures) return { kind: 'open' };
  // (a window whose expiry Redis did not report is waited out in full)
  const remainingMs = current.resetsInMs > 0 ? current.resetsInMs : limit.windowMs;
  return { kind: 'locked', retryAfterSeconds: Math.max(1, Math.ceil(remainingMs / 1000)) };
}

/**
 * The address failures are counted under: the request's address as Express reports it (the socket's peer, or
 * with HOOKPOST_TRUST_PROXY the client a trusted proxy names), an IPv4 address in IPv6 form written as IPv4.
 */
export function signInAddress(ip: string | undefined): string {
  if (!ip) return 'unknown';
  return ip.startsWith('::ffff:') && ip.includes('.') ? ip.slice('::ffff:'.length) : ip;
}
