import { api, query } from './client';
import type { Application, BackgroundTask, Delivery, DeliveryTrace, DeliveryStatus, Endpoint, EndpointHeaders, EndpointMessage, EndpointStats, EventType, ListResponse, Message, MessageAttempt, Page, TaskStarted } from './types';

/** The operations the pages call, each one public API operation (docs/svix-api.md, the seed API in README). */
const app = (id: string) => `/api/v1/app/${encodeURIComponent(id)}`;
const endpoint = (appId: string, id: string) => `${app(appId)}/endpoint/${encodeURIComponent(id)}`;

export type ApplicationInput = { name: string; uid?: string | null; rateLimit?: number | null };
export type EndpointInput = {
  url: string;
  description?: string;
  uid?: string | null;
  filterTypes?: string[] | null;
  channels?: string[] | null;
  rateLimit?: number | null;
  disabled?: boolean;
  /** Hookpost's own: deliveries one at a time, in message order. */
  ordered?: boolean;
};
export type EventTypeInput = { name: string; description: string; schemas?: Record<string, unknown> | null; archived?: boolean };

export type ReplayFromLogInput = { since: string; until?: string | null; eventTypes?: string[] | null; channel?: string | null };

export type DeliverySearch = {
  app_id?: string;
  subscription_id?: string;
  status?: DeliveryStatus;
  event_type?: string;
  payload_contains?: string;
  created_after?: string;
  created_before?: string;
  cursor?: string;
  limit?: number;
};

export const hookpost = {
  applications: (iterator?: string | null, limit = 50) => api<ListResponse<Application>>('GET', `/api/v1/app${query({ limit, iterator })}`),
  application: (id: string) => api<Application>('GET', app(id)),
  createApplication: (input: ApplicationInput) => api<Application>('POST', '/api/v1/app', input),
  updateApplication: (id: string, input: Partial<ApplicationInput>) => api<Application>('PATCH', app(id), input),
  deleteApplication: (id: string) => api<void>('DELETE', app(id)),

  endpoints: (appId: string, iterator?: string | null) => api<ListResponse<Endpoint>>('GET', `${app(appId)}/endpoint${query({ limit: 250, iterator })}`),
  endpoint: (appId: string, id: string) => api<Endpoint>('GET', endpoint(appId, id)),
  createEndpoint: (appId: string, input: EndpointInput) => api<Endpoint>('POST', `${app(appId)}/endpoint`, input),
  updateEndpoint: (appId: string, id: string, input: Partial<EndpointInput>) => api<Endpoint>('PATCH', endpoint(appId, id), input),
  deleteEndpoint: (appId: string, id: string) => api<void>('DELETE', endpoint(appId, id)),
  endpointSecret: (appId: string, id: string) => api<{ key: string }>('GET', `${endpoint(appId, id)}/secret`),
  rotateSecret: (appId: string, id: string) => api<void>('POST', `${endpoint(appId, id)}/secret/rotate`, {}),
  endpointHeaders: (appId: string, id: string) => api<EndpointHeaders>('GET', `${endpoint(appId, id)}/headers`),
  replaceHeaders: (appId: string, id: string, headers: Record<string, string>) => api<void>('PUT', `${endpoint(appId, id)}/headers`, { headers }),
  endpointStats: (appId: string, id: string) => api<EndpointStats>('GET', `${endpoint(appId, id)}/stats`),
  sendExample: (appId: string, id: string, eventType: string) => api<Message>('POST', `${endpoint(appId, id)}/send-example`, { eventType }),
  /** Hold the endpoint's deliveries (204); resume sends every held one. */
  pauseEndpoint: (appId: string, id: string) => api<void>('POST', `${endpoint(appId, id)}/pause`, {}),
  resumeEndpoint: (appId: string, id: string) => api<void>('POST', `${endpoint(appId, id)}/resume`, {}),
  /** An ordered endpoint's waiting head ends, cancelled, and the next goes (204; 404 when none waits). */
  skipHead: (appId: string, id: string) => api<void>('POST', `${endpoint(appId, id)}/ordered/skip-head`, {}),
  recover: (appId: string, id: string, since: string) => api<TaskStarted>('POST', `${endpoint(appId, id)}/recover`, { since }),
  replayMissing: (appId: string, id: string, window: { since: string; until?: string | null }) => api<TaskStarted>('POST', `${endpoint(appId, id)}/replay-missing`, window),
  replayFromLog: (appId: string, id: string, input: ReplayFromLogInput) => api<TaskStarted>('POST', `${endpoint(appId, id)}/replay-from-log`, input),
  endpointMessages: (appId: string, id: string, params: { status?: number; iterator?: string | null }) =>
    api<ListResponse<EndpointMessage>>('GET', `${endpoint(appId, id)}/msg${query({ limit: 50, with_content: false, ...params })}`),

  eventTypes: () => api<ListResponse<EventType>>('GET', `/api/v1/event-type${query({ limit: 250, with_content: true, include_archived: true })}`),
  createEventType: (input: EventTypeInput) => api<EventType>('POST', '/api/v1/event-type', input),
  updateEventType: (name: string, input: Partial<EventTypeInput>) => api<EventType>('PATCH', `/api/v1/event-type/${encodeURIComponent(name)}`, input),
  archiveEventType: (name: string) => api<void>('DELETE', `/api/v1/event-type/${encodeURIComponent(name)}`),

  sendMessage: (appId: string, eventType: string, payload: unknown) => api<Message>('POST', `${app(appId)}/msg`, { eventType, payload }),
  message: (appId: string, id: string) => api<Message>('GET', `${app(appId)}/msg/${encodeURIComponent(id)}`),
  messageAttempts: (appId: string, msgId: string, endpointId?: string) =>
    api<ListResponse<MessageAttempt>>('GET', `${app(appId)}/attempt/msg/${encodeURIComponent(msgId)}${query({ limit: 250, endpoint_id: endpointId })}`),
  resend: (appId: string, msgId: string, endpointId: string) => api<unknown>('POST', `${app(appId)}/msg/${encodeURIComponent(msgId)}/endpoint/${encodeURIComponent(endpointId)}/resend`, {}),

  tasks: (params: { status?: string; task?: string; iterator?: string | null }) => api<ListResponse<BackgroundTask>>('GET', `/api/v1/background-task${query({ limit: 50, ...params })}`),
  task: (id: string) => api<BackgroundTask>('GET', `/api/v1/background-task/${encodeURIComponent(id)}`),
  cancelTask: (id: string) => api<BackgroundTask>('POST', `/api/v1/background-task/${encodeURIComponent(id)}/cancel`, {}),

  deliveries: (search: DeliverySearch) => api<Page<Delivery>>('GET', `/deliveries${query({ limit: 50, ...search })}`),
  delivery: (id: string) => api<Delivery>('GET', `/deliveries/${encodeURIComponent(id)}`),
  /** The delivery's trace from Jaeger (operator only; 404 with `reason` when tracing is off or there is none yet). */
  deliveryTrace: (id: string) => api<DeliveryTrace>('GET', `/ui/api/deliveries/${encodeURIComponent(id)}/trace`),
};
