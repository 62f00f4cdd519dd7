import type { EventOf } from '@hookpost/contracts';
import { payloadSubject, ServiceUnavailable, type PayloadKeyring, type PayloadSubject } from '@hookpost/platform';

/**
 * How long a payload is kept (docs/configuration.md, "Payload retention"): the message's own
 * payloadRetentionHours or payloadRetentionPeriod (days), else its application's default, else the global
 * default. The seed's ingest has no application of its own: the global default.
 */
export type RetentionSettings = Readonly<{
  defaultHours: number;
  /** By application id or uid. */
  byApplication: ReadonlyMap<string, number>;
  /** The length of one retention hour (tests shorten it; 3,600,000 otherwise). */
  hourMs: number;
  /** Payloads expiring within one such span share a key (and are shredded together at its end). */
  bucketMs: number;
}>;

export type RetentionRequest = { payloadRetentionPeriod?: number | null; payloadRetentionHours?: number | null };

export function retentionHours(request: RetentionRequest, application: { id: string; uid: string | null } | undefined, settings: RetentionSettings): number {
  if (typeof request.payloadRetentionHours === 'number') return request.payloadRetentionHours;
  if (typeof request.payloadRetentionPeriod === 'number') return request.payloadRetentionPeriod * 24;
  const ofApplication = application && (settings.byApplication.get(application.id) ?? (application.uid === null ? undefined : settings.byApplication.get(application.uid)));
  return ofApplication ?? settings.defaultHours;
}

/** Parses HOOKPOST_PAYLOAD_RETENTION_BY_APP entries (`<application id or uid>=<hours>`); the problems, if any. */
export function parseRetentionByApplication(entries: readonly string[]): { byApplication: Map<string, number>; problems: string[] } {
  const byApplication = new Map<string, number>();
  const problems: string[] = [];
  entries.forEach((entry, index) => {
    const match = /^([A-Za-z0-9._-]+)=([1-9]\d*)$/.exec(entry.trim());
    const hours = match ? Number(match[2]) : NaN;
    if (!match || hours > 2160) problems.push(`HOOKPOST_PAYLOAD_RETENTION_BY_APP entry ${index + 1} must be <application id or uid>=<hours, 1 to 2160>`);
    else byApplication.set(match[1]!, hours);
  });
  return { byApplication, problems };
}

/**
 * Seals payloads into their event: the payload leaves the gateway only as `payload_sealed`, under the key of
 * the retention bucket it expires with. The key comes from the keyring's cache: the store is asked once per
 * bucket, and for the next bucket ahead of time, never once per request.
 */
export class PayloadSealer {
  constructor(
    private readonly keyring: Pick<PayloadKeyring, 'seal'>,
    private readonly settings: RetentionSettings,
  ) {}

  async message(event: EventOf<'MessageCreated'>, hours: number): Promise<EventOf<'MessageCreated'>> {
    const { payload, ...data } = event.data;
    const sealed = await this.seal(payload ?? {}, payloadSubject('message', data.message_id), data.received_at, hours);
    return { ...event, data: { ...data, payload_sealed: sealed } };
  }

  async ingest(event: EventOf<'WebhookReceived'>): Promise<EventOf<'WebhookReceived'>> {
    const { payload, ...data } = event.data;
    const sealed = await this.seal(payload ?? {}, payloadSubject('delivery', data.delivery_id), data.received_at, this.settings.defaultHours);
    return { ...event, data: { ...data, payload_sealed: sealed } };
  }

  private async seal(payload: object, subject: PayloadSubject, receivedAt: string, hours: number): Promise<string> {
    try {
      return await this.keyring.seal(payload, subject, new Date(receivedAt), hours * this.settings.hourMs, this.settings.bucketMs);
    } catch {
      // Only when a new bucket's key cannot be had (the projector or PostgreSQL down): nothing was written.
      throw new ServiceUnavailable('The payload key store cannot be reached right now; try again shortly.');
    }
  }
}
