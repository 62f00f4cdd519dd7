/**
 * What an attempt's result means for the delivery:
 * - 2xx succeeds;
 * - 410 Gone ends the delivery and disables the subscription;
 * - 429/502/503/504 retry, honouring Retry-After;
 * - 3xx fail the attempt (redirects are never followed) and retry, like every other status;
 * - timeouts, resets and refused connections retry;
 * - a refused target (blocked by policy) fails without retrying.
 */
export type AttemptResult =
  | { kind: 'response'; statusCode: number; retryAfter?: string }
  | { kind: 'network-error'; error: string }
  | { kind: 'blocked'; error: string };

export type Verdict =
  | { kind: 'succeeded' }
  | { kind: 'gone' }
  | { kind: 'retry'; retryAfter?: string }
  | { kind: 'fail-permanently'; reason: string };

const HONOURS_RETRY_AFTER = new Set([429, 502, 503, 504]);

export function classifyAttempt(result: AttemptResult): Verdict {
  switch (result.kind) {
    case 'blocked':
      return { kind: 'fail-permanently', reason: result.error };
    case 'network-error':
      return { kind: 'retry' };
    case 'response': {
      const { statusCode } = result;
      if (statusCode >= 200 && statusCode < 300) return { kind: 'succeeded' };
      if (statusCode === 410) return { kind: 'gone' };
      if (HONOURS_RETRY_AFTER.has(statusCode)) return { kind: 'retry', retryAfter: result.retryAfter };
      return { kind: 'retry' };
    }
    default: {
      const unknown: never = result;
      throw new Error(`unknown attempt result ${JSON.stringify(unknown)}`);
    }
  }
}
