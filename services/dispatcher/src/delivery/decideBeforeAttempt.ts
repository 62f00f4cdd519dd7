import { compile, makeEvent, previousSecretSigns, subscriptionStateSchema, type HookpostEvent, type SubscriptionState } from '@hookpost/contracts';
import { signedHeaders, type SignedHeaders } from '@hookpost/signing';
import { sealedFor, type KnownSubscription } from '@hookpost/platform';
import { decideCancel } from './decideAfterAttempt';
import { decideHold } from './hold';
import { outcomeSoFar, webhookIdOf, type DeliveryJob } from './deliveryJob';

// Unknown properties are tolerated: a field a newer writer adds to the state does not make it unusable, and
// refusing it would fail every delivery. Everything the dispatcher reads must have its schema's shape.
const validateState = compile({ ...subscriptionStateSchema, additionalProperties: true });

export type BeforeAttempt =
  | {
      kind: 'attempt';
      subscription: SubscriptionState;
      headers: SignedHeaders;
      /** Set when the previous secret (during a rotation's overlap) could not be used and was left out. */
      warning?: string;
    }
  /** The delivery ends without an attempt; `events` record it with `reason`. */
  | { kind: 'cancelled' | 'failed'; reason: string; events: HookpostEvent[] }
  /** The endpoint is paused: the attempt is held (`events` record it) until it is resumed. */
  | { kind: 'held'; heldAt: string; events: HookpostEvent[] };

type Deps = {
  now: () => Date;
  newId: () => string;
  /**
   * Opens a sealed secret with this process's master keys (SecretBox.open), for the subscription and field it
   * is found in (`subscription:<id>:secret`); throws, saying why, when it cannot.
   */
  openSecret: (sealed: string, context: string) => string;
};

function errorText(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/**
 * A delivery that can never be attempted: failed (not cancelled, which is the user's own doing) with `reason`,
 * which is also its last_error, as the read model shows no reason: what went wrong last is that it could not
 * be attempted. The last status code stays that of the last attempt made, if any.
 */
export function decideUnattemptable(job: DeliveryJob, reason: string, deps: Pick<Deps, 'now' | 'newId'>): HookpostEvent[] {
  return [
    makeEvent(
      'DeliveryFailed',
      {
        ...outcomeSoFar(job),
        last_error: reason,
        reason,
      },
      deps,
    ),
  ];
}

/**
 * Before an attempt: whether the subscription as found can be delivered to, and the signed headers if so.
 * Everything here is computed from the subscription and this process's configuration (its master keys),
 * with no I/O, so a failure here is the same failure on every retry and after every restart: it ends the
 * delivery with a reason instead of holding its message (and the partition's committed offset) forever.
 * Failures that can pass (a broker, Redis or the projector unreachable) happen only around this, in the
 * dispatcher, which retries them.
 */
export function decideBeforeAttempt(
  job: DeliveryJob,
  known: KnownSubscription | undefined,
  message: { body: string; timestamp: Date },
  deps: Deps,
): BeforeAttempt {
  const fail = (reason: string): BeforeAttempt => ({ kind: 'failed', reason, events: decideUnattemptable(job, reason, deps) });
  const cancel = (reason: string): BeforeAttempt => ({ kind: 'cancelled', reason, events: decideCancel(job, reason, deps) });
  if (known === undefined) return cancel('subscription deleted');
  // From Redis or the projector, so checked before it is trusted to be an object at all.
  if (typeof known === 'object' && known !== null && 'deleted' in known && known.deleted === true) return cancel('subscription deleted');
  const valid = validateState(known);
  if (!valid.ok) return fail(`subscription state is invalid: ${valid.errors.join('; ')}`);
  const subscription = known as SubscriptionState;
  if (!subscription.is_active) return cancel('subscription disabled');
  if (subscription.paused === true) return { kind: 'held', ...decideHold(job, deps) };

  let secret: string;
  try {
    secret = deps.openSecret(subscription.secret, sealedFor(subscription.id, 'secret'));
  } catch (error) {
    // A missing master key, or a value sealed for another subscription or field: the same on every retry.
    return fail(`the subscription's secret cannot be opened (${errorText(error)})`);
  }
  let headers: SignedHeaders;
  try {
    headers = signedHeaders([secret], webhookIdOf(job), message.timestamp, message.body);
  } catch (error) {
    return fail(`the subscription's secret cannot sign (${errorText(error)})`);
  }

  // During a rotation's overlap the previous secret signs too; one that cannot is left out rather than
  // failing a delivery the current secret signs (receivers that switched verify it).
  if (!previousSecretSigns(subscription, message.timestamp)) return { kind: 'attempt', subscription, headers };
  try {
    const previous = deps.openSecret(subscription.previous_secret!, sealedFor(subscription.id, 'previous_secret'));
    return { kind: 'attempt', subscription, headers: signedHeaders([secret, previous], webhookIdOf(job), message.timestamp, message.body) };
  } catch (error) {
    return { kind: 'attempt', subscription, headers, warning: `the previous secret was left out: ${errorText(error)}` };
  }
}
