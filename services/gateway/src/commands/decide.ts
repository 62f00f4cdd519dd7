import {
  makeEvent,
  type EventOf,
  type SubscriptionChangeCause,
  type SubscriptionChanges,
  type SecretRotate,
  type SubscriptionCreate,
  type SubscriptionPatch,
  type SubscriptionReplace,
  type SubscriptionState,
} from '@hookpost/contracts';
import { expiredPreviousSecretCleared, ifMatchHolds, previousSecretSigns, isDeleted, subscriptionETag, type KnownSubscription } from '@hookpost/contracts';
import { Conflict, NotFound, PreconditionFailed, sealedFor, ValidationFailed, type SecretBox } from '@hookpost/platform';
import { hmacSecretProblem } from '@hookpost/signing';

/**
 * The gateway's decisions, as pure functions of a command and the current state: each returns the events
 * to append (and what to answer). Clock, ids, sealing and secret generation come in as dependencies.
 */
export type DecideDeps = {
  now: () => Date;
  newId: () => string;
  /** Seals and opens endpoint secrets, each bound to its subscription and field (see SecretBox). */
  secrets: Pick<SecretBox, 'seal' | 'open' | 'isCurrent'>;
  generateSecret: () => string;
  generateSigningKeyPair: () => { signingKey: string; publicKey: string };
  /** How long a rotated-out secret keeps signing. */
  rotationOverlapMs: number;
  /** Why a target URL's literal address is refused, if it is (see TargetPolicy). */
  refuseTarget: (targetUrl: string) => string | undefined;
};

export function checkTargetUrl(targetUrl: string, deps: DecideDeps): void {
  let url: URL;
  try {
    url = new URL(targetUrl);
  } catch {
    throw new ValidationFailed([{ field: 'target_url', message: 'must be an absolute http or https URL' }]);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw new ValidationFailed([{ field: 'target_url', message: 'must use http or https' }]);
  }
  if (url.username || url.password) {
    throw new ValidationFailed([{ field: 'target_url', message: 'must not carry credentials' }]);
  }
  const refusal = deps.refuseTarget(targetUrl);
  if (refusal) throw new ValidationFailed([{ field: 'target_url', message: `is not a public address: ${refusal}` }]);
}

/** The subscription a command acts on, or 404 if it never existed or was deleted. */
export function existing(known: KnownSubscription | undefined, id: string): SubscriptionState {
  if (!known || isDeleted(known)) throw new NotFound(`No subscription ${id}.`);
  return known;
}

/** The subscription a conditional command acts on: 404 as above, 412 when If-Match names another version. */
export function existingMatching(known: KnownSubscription | undefined, id: string, ifMatch: string | undefined): SubscriptionState {
  const current = existing(known, id);
  if (!ifMatchHolds(ifMatch, current.version)) {
    throw new PreconditionFailed(`Subscription ${id} is at version ${subscriptionETag(current.version)}, not ${ifMatch}; read it again and retry.`);
  }
  return current;
}

const NO_SECRET_FOR_ED25519 = [{ field: 'secret_key', message: 'does not apply to ed25519 subscriptions: the signing key is generated' }];
/** A valid body that the subscription's current state refuses is a conflict (409), not a schema error (422). */
function refuseSecretForEd25519(current: SubscriptionState): void {
  if (schemeOf(current) === 'ed25519') throw new Conflict(`Subscription ${current.id} signs with ed25519: its key is generated, so secret_key does not apply.`);
}

/** A chosen HMAC secret that could never sign is refused now, not found out by every delivery later. */
export function usableHmacSecret(secret: string): string {
  const problem = hmacSecretProblem(secret);
  if (problem) throw new ValidationFailed([{ field: 'secret_key', message: problem }]);
  return secret;
}

/** The secret to keep (sealed for the subscription) and what the caller may see of it: the secret itself, or the public key. */
export function newSigningMaterial(subscriptionId: string, scheme: 'hmac-sha256' | 'ed25519', chosen: string | undefined, deps: DecideDeps) {
  if (scheme === 'ed25519') {
    if (chosen !== undefined) throw new ValidationFailed(NO_SECRET_FOR_ED25519);
    const { signingKey, publicKey } = deps.generateSigningKeyPair();
    return { sealed: deps.secrets.seal(signingKey, sealedFor(subscriptionId, 'secret')), shown: undefined, publicKey };
  }
  const secret = chosen === undefined ? deps.generateSecret() : usableHmacSecret(chosen);
  return { sealed: deps.secrets.seal(secret, sealedFor(subscriptionId, 'secret')), shown: secret, publicKey: null };
}

/** A secret chosen in a PUT or PATCH, sealed for the subscription's `secret` field. */
function sealedChosenSecret(subscriptionId: string, chosen: string, deps: DecideDeps): string {
  return deps.secrets.seal(usableHmacSecret(chosen), sealedFor(subscriptionId, 'secret'));
}

function schemeOf(state: SubscriptionState): 'hmac-sha256' | 'ed25519' {
  return state.signature_scheme ?? 'hmac-sha256';
}

export function decideCreate(
  input: SubscriptionCreate,
  deps: DecideDeps,
): { event: EventOf<'SubscriptionCreated'>; secret: string | undefined } {
  checkTargetUrl(input.target_url, deps);
  const scheme = input.signature_scheme ?? 'hmac-sha256';
  const id = deps.newId();
  const material = newSigningMaterial(id, scheme, input.secret_key, deps);
  const now = deps.now().toISOString();
  const state: SubscriptionState = {
    id,
    version: 1,
    name: input.name,
    description: input.description ?? null,
    target_url: input.target_url,
    is_active: input.is_active ?? true,
    event_types: input.event_types ?? null,
    secret: material.sealed,
    max_attempts: input.max_attempts ?? null,
    timeout_ms: input.timeout_ms ?? null,
    signature_scheme: scheme,
    public_key: material.publicKey,
    previous_secret: null,
    previous_secret_expires_at: null,
    created_at: now,
    updated_at: now,
  };
  return { event: makeEvent('SubscriptionCreated', state, deps), secret: material.shown };
}

/**
 * A change to a subscription, recorded with why it happened. A previous secret whose overlap has ended goes
 * with it, so it is not kept (sealed) in the state for ever.
 */
function changed(
  current: SubscriptionState,
  changes: SubscriptionChanges,
  cause: SubscriptionChangeCause,
  deps: Pick<DecideDeps, 'now' | 'newId'>,
): EventOf<'SubscriptionChanged'> {
  const now = deps.now();
  return makeEvent(
    'SubscriptionChanged',
    {
      id: current.id,
      version: current.version + 1,
      changes: { ...expiredPreviousSecretCleared(current, now), ...changes },
      cause,
      detail: null,
      changed_at: now.toISOString(),
      // (so a reader tells an enable or a disable from a PUT that restates the state: operational webhooks)
      was_active: current.is_active,
    },
    deps,
  );
}

/**
 * The current secret, re-sealed for the `previous_secret` field (a sealed value opens only in the field it
 * was sealed for). Undefined when this gateway cannot open it (its master key is gone): such a secret could
 * not sign in the overlap either, and rotating is how that subscription gets a working secret again.
 */
function currentAsPrevious(current: SubscriptionState, deps: DecideDeps): string | undefined {
  try {
    return deps.secrets.seal(deps.secrets.open(current.secret, sealedFor(current.id, 'secret')), sealedFor(current.id, 'previous_secret'));
  } catch {
    return undefined;
  }
}

/**
 * A new secret (or key pair); the previous one keeps signing for the overlap, so a receiver holding either
 * accepts every delivery until it has switched. (If the previous one cannot be opened there is no overlap:
 * it ends now.)
 */
export function decideRotate(
  current: SubscriptionState,
  input: SecretRotate,
  deps: DecideDeps,
): { event: EventOf<'SubscriptionChanged'>; secret: string | undefined; publicKey: string | null; previousExpiresAt: string } {
  if (input.secret_key !== undefined) refuseSecretForEd25519(current);
  const material = newSigningMaterial(current.id, schemeOf(current), input.secret_key, deps);
  const previous = currentAsPrevious(current, deps);
  const previousExpiresAt = new Date(deps.now().getTime() + (previous === undefined ? 0 : deps.rotationOverlapMs)).toISOString();
  const event = changed(
    current,
    {
      secret: material.sealed,
      public_key: material.publicKey,
      previous_secret: previous ?? null,
      previous_secret_expires_at: previous === undefined ? null : previousExpiresAt,
    },
    'secret_rotated',
    deps,
  );
  return { event, secret: material.shown, publicKey: material.publicKey, previousExpiresAt };
}

/**
 * Re-seals the subscription's secret(s) under the first master key (npm run reseal), so an older key can be
 * retired. Nothing changes for receivers: the same secrets sign. Undefined when everything already is sealed
 * that way and no expired previous secret is left to drop. Throws SealedValueError for a value this process
 * cannot open (its key is already gone); the caller reports it.
 */
export function decideReseal(current: SubscriptionState, deps: Pick<DecideDeps, 'now' | 'newId' | 'secrets'>): EventOf<'SubscriptionChanged'> | undefined {
  const changes: SubscriptionChanges = {};
  const resealed = (sealed: string, field: 'secret' | 'previous_secret') =>
    deps.secrets.seal(deps.secrets.open(sealed, sealedFor(current.id, field)), sealedFor(current.id, field));
  if (!deps.secrets.isCurrent(current.secret)) changes.secret = resealed(current.secret, 'secret');
  const previousSigns = previousSecretSigns(current, deps.now());
  if (previousSigns && !deps.secrets.isCurrent(current.previous_secret!)) changes.previous_secret = resealed(current.previous_secret!, 'previous_secret');
  // changed() drops an expired previous secret: that alone is worth an event (it may be under the old key).
  const expiredKept = Boolean(current.previous_secret) && !previousSigns;
  if (Object.keys(changes).length === 0 && !expiredKept) return undefined;
  return changed(current, changes, 'resealed', deps);
}

/** PUT: every field is replaced by the request's (absent ones by their defaults), except an absent secret. */
export function decideReplace(current: SubscriptionState, input: SubscriptionReplace, deps: DecideDeps): EventOf<'SubscriptionChanged'> {
  checkTargetUrl(input.target_url, deps);
  if (input.secret_key !== undefined) refuseSecretForEd25519(current);
  return changed(
    current,
    {
      name: input.name,
      description: input.description ?? null,
      target_url: input.target_url,
      is_active: input.is_active ?? true,
      event_types: input.event_types ?? null,
      max_attempts: input.max_attempts ?? null,
      timeout_ms: input.timeout_ms ?? null,
      ...(input.secret_key === undefined ? {} : { secret: sealedChosenSecret(current.id, input.secret_key, deps) }),
    },
    'replaced',
    deps,
  );
}

/** PATCH: only the fields present change (JSON merge semantics; null clears a nullable field). */
export function decidePatch(current: SubscriptionState, input: SubscriptionPatch, deps: DecideDeps): EventOf<'SubscriptionChanged'> {
  if (input.target_url !== undefined) checkTargetUrl(input.target_url, deps);
  if (input.secret_key !== undefined) refuseSecretForEd25519(current);
  const { secret_key, ...fields } = input;
  return changed(current, { ...fields, ...(secret_key === undefined ? {} : { secret: sealedChosenSecret(current.id, secret_key, deps) }) }, 'patched', deps);
}

export function decideDelete(current: SubscriptionState, deps: DecideDeps): EventOf<'SubscriptionDeleted'> {
  return makeEvent('SubscriptionDeleted', { id: current.id, version: current.version + 1, deleted_at: deps.now().toISOString() }, deps);
}

/** Ingest: the body must be a JSON object; its `event_type` (if any) names the event. */
export function decideIngest(subscription: SubscriptionState, body: unknown, deps: DecideDeps): EventOf<'WebhookReceived'> {
  if (body === null || typeof body !== 'object' || Array.isArray(body)) {
    throw new ValidationFailed([{ field: '(body)', message: 'must be a JSON object' }]);
  }
  const payload = body as Record<string, unknown>;
  const eventType = payload.event_type;
  if (eventType !== undefined && eventType !== null && (typeof eventType !== 'string' || eventType.length === 0 || eventType.length > 200)) {
    throw new ValidationFailed([{ field: 'event_type', message: 'must be a string of 1 to 200 characters' }]);
  }
  if (!subscription.is_active) throw new Conflict(`Subscription ${subscription.id} is not active.`);
  if (subscription.event_types && typeof eventType === 'string' && !subscription.event_types.includes(eventType)) {
    throw new Conflict(`Subscription ${subscription.id} does not take event_type ${JSON.stringify(eventType)}: it is not one of its event_types.`);
  }
  const receivedAt = deps.now().toISOString();
  return makeEvent(
    'WebhookReceived',
    {
      delivery_id: deps.newId(),
      subscription_id: subscription.id,
      event_type: typeof eventType === 'string' ? eventType : null,
      payload,
      received_at: receivedAt,
    },
    deps,
  );
}

/** What the API shows of a subscription: never the secret, never the internal version. */
export function publicSubscription(state: SubscriptionState) {
  // (the Svix fields of an endpoint — application, uid, channels, metadata, rate limit, headers — show in /api/v1)
  return {
    id: state.id,
    name: state.name,
    description: state.description ?? null,
    target_url: state.target_url,
    is_active: state.is_active,
    event_types: state.event_types,
    max_attempts: state.max_attempts ?? null,
    timeout_ms: state.timeout_ms ?? null,
    signature_scheme: schemeOf(state),
    public_key: state.public_key ?? null,
    created_at: state.created_at,
    updated_at: state.updated_at,
  };
}
