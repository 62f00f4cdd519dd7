import { createHmac } from 'node:crypto';

/**
 * The credential Hookpost's services call each other with. It is derived from the master keys every service
 * already holds, so it needs no configuration of its own and no user API key can stand in for it: the
 * projector's internal routes (sealed secrets) accept only this. Derived from each configured key, so during
 * a master-key rotation a service accepts the credential of any key it knows and sends that of the first.
 */
export function serviceCredentials(secretKeys: string): { send: string; accepted: string[] } {
  const accepted = secretKeys
    .split(',')
    .map((entry) => entry.trim())
    .filter(Boolean)
    .map((entry) => {
      const key = Buffer.from(entry.slice(entry.indexOf(':') + 1), 'base64');
      return `hps_${createHmac('sha256', key).update('hookpost service credential v1').digest('base64url')}`;
    });
  if (accepted.length === 0) throw new Error('no master key to derive the service credential from: set HOOKPOST_SECRET_KEYS');
  return { send: accepted[0]!, accepted };
}

/** Headers for one service calling another with the service credential. */
export function serviceHeaders(credential: string): Record<string, string> {
  return { authorization: `Bearer ${credential}` };
}
