/** The shapes the dashboard reads: the Svix API's (camelCase, external ids) and the seed API's deliveries (snake_case, UUIDs). */

export type ListResponse<T> = { data: T[]; iterator: string | null; prevIterator: string | null; done: boolean };
export type Page<T> = { data: T[]; next_cursor: string | null };

export type Application = {
  id: string;
  uid: string | null;
  name: string;
  rateLimit: number | null;
  metadata: Record<string, string>;
  createdAt: string;
  updatedAt: string;
};

export type Endpoint = {
  id: string;
  uid: string | null;
  url: string;
  description: string;
  disabled: boolean;
  filterTypes: string[] | null;
  channels: string[] | null;
  rateLimit: number | null;
  metadata: Record<string, string>;
  /** Hookpost's own: a paused endpoint's deliveries are held (not attempted) until it is resumed. */
  paused: boolean;
  /** Hookpost's own: deliveries go one at a time, in message order; a failing head holds the ones behind it. */
  ordered: boolean;
  createdAt: string;
  updatedAt: string;
};

export type EndpointStats = { success: number; pending: number; sending: number; fail: number; canceled: number };
export type EndpointHeaders = { headers: Record<string, string>; sensitive: string[] };

export type EventType = {
  name: string;
  description: string;
  archived: boolean;
  deprecated: boolean;
  schemas: Record<string, unknown> | null;
  featureFlag: string | null;
  createdAt: string;
  updatedAt: string;
};

export type Message = {
  id: string;
  eventType: string;
  eventId: string | null;
  payload: unknown;
  channels: string[] | null;
  tags: string[] | null;
  timestamp: string;
};

/** A message as an endpoint got it (Svix's EndpointMessageOut): its delivery's status there. */
export type EndpointMessage = Message & { status: number; nextAttempt: string | null };

export type MessageAttempt = {
  id: string;
  msgId: string;
  endpointId: string;
  url: string;
  response: string;
  responseStatusCode: number;
  responseDurationMs: number;
  status: number;
  triggerType: number;
  timestamp: string;
};

export const deliveryStatuses = ['pending', 'retrying', 'succeeded', 'failed', 'cancelled'] as const;
export type DeliveryStatus = (typeof deliveryStatuses)[number];

export type Attempt = {
  delivery_id: string;
  attempt_number: number;
  status_code: number | null;
  duration_ms: number;
  error: string | null;
  response_headers: Record<string, string> | null;
  response_body: string | null;
  started_at: string;
};

export type Delivery = {
  id: string;
  app_id: string | null;
  message_id: string | null;
  subscription_id: string;
  event_type: string | null;
  payload: unknown;
  status: DeliveryStatus;
  /** Set while the delivery is held by its paused endpoint (it then reads pending or retrying, with no next attempt). */
  held_since?: string | null;
  attempt_count: number;
  next_attempt_at: string | null;
  last_status_code: number | null;
  last_error: string | null;
  created_at: string;
  updated_at: string;
  delivered_at: string | null;
  attempts?: Attempt[];
};

/** What the live stream says about a delivery whose row changed (the read model's row after the change). */
export type DeliveryChange = Omit<Delivery, 'payload' | 'last_error' | 'delivered_at' | 'attempts'>;

/** Svix's message status numbers (MessageStatus): 0 success, 1 pending, 2 fail, 3 sending. */
export const svixStatusNames: Record<number, string> = { 0: 'succeeded', 1: 'pending', 2: 'failed', 3: 'retrying' };

/** A delivery's trace, as GET /ui/api/deliveries/{id}/trace answers it (services/gateway/src/ui/deliveryTrace.ts). */
export type TraceSpan = {
  id: string;
  parentId: string | null;
  service: string;
  operation: string;
  /** Microseconds since the Unix epoch. */
  startUs: number;
  durationUs: number;
  attributes: Record<string, string | number | boolean>;
};
export type DeliveryTrace = { traceId: string; spans: TraceSpan[]; otherTraceIds: string[]; jaegerUrl: string };

/** A background task (recover, replay-missing, replay from the log) as GET /api/v1/background-task answers it. */
export type BackgroundTaskState = 'running' | 'finished' | 'failed' | 'cancelled';
export type BackgroundTask = {
  id: string;
  /** Svix's status: a cancelled task reads `failed`, with `data.state` `cancelled`. */
  status: 'running' | 'finished' | 'failed';
  task: string;
  data: {
    state: BackgroundTaskState;
    endpointId: string;
    since: string | null;
    until: string | null;
    eventTypes: string[] | null;
    channel: string | null;
    messagesScanned: number;
    messagesSent: number;
    /** 0–1 where the task knows its size (a replay from the log), else null. */
    progress: number | null;
    reason: string | null;
    startedAt: string;
    finishedAt: string | null;
  };
  updatedAt: string;
};
/** What starting a task answers (202). */
export type TaskStarted = { id: string; status: 'running'; task: string; updatedAt: string };
/** Svix's task types: what each one is called on the pages. */
export const taskTypeNames: Record<string, string> = { 'endpoint.recover': 'Recover', 'endpoint.replay': 'Replay missing', 'endpoint.bulk-replay': 'Replay from the log' };
