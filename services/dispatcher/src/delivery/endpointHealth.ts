/**
 * Circuit breaking per endpoint (a subscription: its URL, secret and settings). Every dispatcher shares one
 * record per endpoint in Redis (redisEndpointHealth.ts): how many attempts in a row failed, and since when.
 * Any success clears it; so does any change to the endpoint (its version moves on: a new URL, a re-enable, a
 * new secret start afresh). From the record:
 *
 * - **probing**: once `probeAfterFailures` attempts in a row failed, at most one attempt per
 *   `probeIntervalMs` goes out to the endpoint (the probe); every other due attempt is deferred (not made, not
 *   counted, back later: see decideDeferral), so a dead endpoint is not sent every retry of every delivery at
 *   full rate. The probe's success closes the circuit and the deferred attempts go out when they come back.
 * - **automatic disable**: once every attempt has failed for `disableAfterMs` (Svix: 5 days), the endpoint is
 *   disabled with a reason (cause `endpoint_failing`); its waiting deliveries are cancelled as they come due,
 *   as for any disabled endpoint. Enabling it again starts a new record.
 *
 * These are pure decisions over the record; the record itself is I/O (the adapter).
 */
export type EndpointHealthLimits = Readonly<{
  /** Consecutive failed attempts after which the endpoint is probed instead; 0: never. */
  probeAfterFailures: number;
  /** While probing, at most one attempt per this long. */
  probeIntervalMs: number;
  /** How long every attempt must have failed before the endpoint is disabled; 0: never. */
  disableAfterMs: number;
}>;

/** What the shared record says of an endpoint: attempts failed in a row, and when the first of them failed (epoch ms). */
export type EndpointHealth = Readonly<{ failures: number; failingSince: number }>;

/** Whether due attempts go out as they come (closed) or one per probe interval (open). No record: closed. */
export function circuitOf(health: EndpointHealth | undefined, limits: EndpointHealthLimits): 'closed' | 'open' {
  if (!health || limits.probeAfterFailures <= 0) return 'closed';
  return health.failures >= limits.probeAfterFailures ? 'open' : 'closed';
}

/** Deferred attempts of a probed endpoint stay away at most this long (or one probe interval, if longer). */
export const LONGEST_PROBE_DEFERRAL_MS = 600_000;

/**
 * How long an attempt that found the probe taken stays away: until the probe slot is free again
 * (`heldForMs`), plus a probe interval that doubles with each deferral of the same attempt, at most
 * LONGEST_PROBE_DEFERRAL_MS, ±20 % so that the deferred attempts of one endpoint do not all come back at once.
 * A dead endpoint's backlog thus costs a few cheap checks per deferred delivery per ten minutes, not one
 * request per retry; once the endpoint answers again each comes back within that time. `random`: [0, 1).
 */
export function probeDeferralDelay(heldForMs: number, deferrals: number, limits: EndpointHealthLimits, random: () => number): number {
  const longest = Math.max(LONGEST_PROBE_DEFERRAL_MS, limits.probeIntervalMs);
  const base = Math.min(Math.max(heldForMs, 0) + limits.probeIntervalMs * 2 ** Math.min(Math.max(deferrals, 0), 10), longest);
  return Math.max(1, Math.round(base * (0.8 + 0.4 * random())));
}

/** Why a deferral happened, as the log records it. */
export function probingReason(health: EndpointHealth): string {
  return `the endpoint is failing (${health.failures} attempts in a row since ${new Date(health.failingSince).toISOString()}): one attempt per probe interval goes out`;
}

export type SustainedFailure = Readonly<{ failingSince: string; detail: string }>;

/**
 * After a failed attempt, with the record that includes it: the endpoint is to be disabled when every attempt
 * has failed for `disableAfterMs` or longer. (Disabling is decided again on the endpoint's current state under
 * its writer lock, decideDisable: of two dispatchers that both see this, one disables it.)
 */
export function decideSustainedFailure(health: EndpointHealth, limits: EndpointHealthLimits, now: Date): SustainedFailure | undefined {
  if (limits.disableAfterMs <= 0) return undefined;
  const failingFor = now.getTime() - health.failingSince;
  if (failingFor < limits.disableAfterMs) return undefined;
  const failingSince = new Date(health.failingSince).toISOString();
  return {
    failingSince,
    detail: `every attempt failed since ${failingSince} (${health.failures} in a row, for ${formatDuration(failingFor)}; the limit is ${formatDuration(limits.disableAfterMs)})`,
  };
}

function formatDuration(ms: number): string {
  if (ms >= 86_400_000) return `${(ms / 86_400_000).toFixed(1)} days`;
  if (ms >= 3_600_000) return `${(ms / 3_600_000).toFixed(1)} hours`;
  if (ms >= 60_000) return `${(ms / 60_000).toFixed(1)} minutes`;
  return `${(ms / 1_000).toFixed(1)} s`;
}
