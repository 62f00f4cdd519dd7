import { commonEnv, EnvError, envs, parseEnv, topicEnv } from '@hookpost/platform';
import { parseRetentionByApplication } from './retention';

export const gatewayEnvSpec = {
  ...commonEnv,
  ...topicEnv,
  GATEWAY_PORT: envs.int(8000, { min: 0, max: 65535 }),
  PROJECTOR_URL: envs.string('http://127.0.0.1:8001'),
  /** Largest request body accepted (ingest payloads included); larger ones get 413. */
  HOOKPOST_MAX_BODY_BYTES: envs.int(262_144, { min: 1_024, max: 10_485_760 }),
  /** How long a command waits for Kafka's acknowledgement before answering 503. */
  HOOKPOST_APPEND_TIMEOUT_MS: envs.int(10_000, { min: 100 }),
  /** How long a rotated-out secret keeps signing deliveries next to the new one. */
  HOOKPOST_SECRET_ROTATION_OVERLAP_MS: envs.int(86_400_000, { min: 0 }),
  /** How long a message's eventId stays taken in its application (a second message with it is 409). */
  HOOKPOST_EVENT_ID_TTL_MS: envs.int(86_400_000, { min: 1_000 }),
  /** How long the first answer to a POST with an Idempotency-Key is kept and replayed. */
  HOOKPOST_IDEMPOTENCY_TTL_MS: envs.int(12 * 3_600_000, { min: 1_000 }),
  /** Where users reach the gateway (scheme, host, path prefix): the base of app-portal URLs; empty, each request's own. */
  HOOKPOST_PUBLIC_URL: envs.optionalHttpUrl(),
  /** The dispatcher's address, for the dashboard overview's health (its /readyz); unset, the overview does not show it. */
  HOOKPOST_DISPATCHER_URL: envs.optionalHttpUrl(),
  /** Jaeger's query API (e.g. http://127.0.0.1:16686), for the dashboard's trace of a delivery; unset, the page says tracing is off. */
  HOOKPOST_JAEGER_URL: envs.optionalHttpUrl(),
  /** Where the operator's browser reaches Jaeger's UI, for the page's link to the trace; unset, HOOKPOST_JAEGER_URL. */
  HOOKPOST_JAEGER_UI_URL: envs.optionalHttpUrl(),
  /** How long the gateway waits for Jaeger's answer before the trace is "unreachable" (503). */
  HOOKPOST_JAEGER_TIMEOUT_MS: envs.int(3_000, { min: 100, max: 60_000 }),
  /** How long a dashboard sign-in lasts (the session cookie and its record in Redis). */
  HOOKPOST_UI_SESSION_TTL_MS: envs.int(8 * 3_600_000, { min: 60_000, max: 30 * 86_400_000 }),
  /** Failed dashboard sign-ins allowed per client address in a window; the next attempts get 429 until it ends. */
  HOOKPOST_UI_SIGN_IN_MAX_FAILURES: envs.int(10, { min: 1, max: 100_000 }),
  /** The window failed sign-ins are counted in, from the first failure. */
  HOOKPOST_UI_SIGN_IN_WINDOW_MS: envs.int(600_000, { min: 1_000, max: 86_400_000 }),
  /**
   * Express's `trust proxy`: which proxies' X-Forwarded-For names the client (e.g. `loopback`, CIDRs, comma-separated,
   * or a hop count); empty, none: the client is the connection's peer. `true` (any) is refused: anyone could name any address.
   */
  HOOKPOST_TRUST_PROXY: envs.string(''),
  /** Who may embed the application portal (/portal) in a frame: CSP frame-ancestors sources, comma-separated; none by default. */
  HOOKPOST_PORTAL_FRAME_ANCESTORS: envs.list([]),
  /** The name, logo (an http(s) URL) and accent colour (#rrggbb) the dashboard and the portal show. */
  HOOKPOST_UI_BRAND_NAME: envs.string('Hookpost'),
  HOOKPOST_UI_BRAND_LOGO_URL: envs.optionalHttpUrl(),
  HOOKPOST_UI_ACCENT_COLOR: envs.string(''),
  /** How long payloads are kept unless the message or its application says otherwise (Svix's default: 90 days). */
  HOOKPOST_PAYLOAD_RETENTION_HOURS: envs.int(2_160, { min: 1, max: 2_160 }),
  /** Applications' own defaults: `<application id or uid>=<hours>`, comma-separated. */
  HOOKPOST_PAYLOAD_RETENTION_BY_APP: envs.list([]),
  /** Payloads expiring within one such span share a key and are shredded together at its end (at most this much past their time). */
  HOOKPOST_PAYLOAD_BUCKET_MS: envs.int(86_400_000, { min: 100, max: 604_800_000 }),
  /** The length of one retention hour, for tests only (a retention of seconds): leave it at 3,600,000. */
  HOOKPOST_RETENTION_HOUR_MS: envs.int(3_600_000, { min: 1, max: 3_600_000 }),
};

export type GatewayEnv = ReturnType<typeof readGatewayEnv>;

export function readGatewayEnv(source: NodeJS.ProcessEnv = process.env) {
  const env = parseEnv(gatewayEnvSpec, source);
  const { byApplication, problems } = parseRetentionByApplication(env.HOOKPOST_PAYLOAD_RETENTION_BY_APP);
  const trustProxy = trustProxyOf(env.HOOKPOST_TRUST_PROXY);
  if (trustProxy === 'refused') problems.push('HOOKPOST_TRUST_PROXY: `true` would trust every X-Forwarded-For; name the proxies (loopback, CIDRs) or a hop count');
  if (problems.length > 0) throw new EnvError(problems);
  return { ...env, trustProxy: trustProxy === 'refused' ? undefined : trustProxy, payloadRetention: { defaultHours: env.HOOKPOST_PAYLOAD_RETENTION_HOURS, byApplication, hourMs: env.HOOKPOST_RETENTION_HOUR_MS, bucketMs: env.HOOKPOST_PAYLOAD_BUCKET_MS } };
}

/** HOOKPOST_TRUST_PROXY as Express's `trust proxy` takes it: a hop count, or the proxies' addresses and names. */
export function trustProxyOf(value: string): number | string | undefined | 'refused' {
  const text = value.trim();
  if (text === '' || text === 'false') return undefined;
  if (text === 'true') return 'refused';
  return /^\d+$/.test(text) ? Number(text) : text;
}
