import type { DeliverySearch } from '../api/hookpost';
import { deliveryStatuses, type DeliveryChange, type DeliveryStatus } from '../api/types';

/**
 * The deliveries page's filters, kept in the URL (a filtered view can be linked and survives a reload), and
 * the pure decisions the live stream needs: does a changed delivery belong in the view.
 */
export const filterNames = ['app_id', 'subscription_id', 'event_type', 'status', 'created_after', 'created_before', 'payload_contains', 'cursor'] as const;
export type DeliveryFilters = Partial<Record<(typeof filterNames)[number], string>>;

export function filtersFrom(search: URLSearchParams): DeliveryFilters {
  const filters: DeliveryFilters = {};
  for (const name of filterNames) {
    const value = search.get(name);
    if (value) filters[name] = value;
  }
  return filters;
}

export function searchOf(filters: DeliveryFilters): string {
  const params = new URLSearchParams();
  for (const name of filterNames) if (filters[name]) params.set(name, filters[name]!);
  const text = params.toString();
  return text ? `?${text}` : '';
}

const isStatus = (text: string | undefined): text is DeliveryStatus => deliveryStatuses.includes(text as DeliveryStatus);

/** The API's search from the filters: times as RFC 3339, unknown statuses dropped. */
export function apiSearch(filters: DeliveryFilters): DeliverySearch {
  const time = (text: string | undefined) => {
    if (!text) return undefined;
    const date = new Date(text);
    return Number.isNaN(date.getTime()) ? undefined : date.toISOString();
  };
  return {
    app_id: filters.app_id,
    subscription_id: filters.subscription_id,
    event_type: filters.event_type,
    status: isStatus(filters.status) ? filters.status : undefined,
    created_after: time(filters.created_after),
    created_before: time(filters.created_before),
    payload_contains: filters.payload_contains,
    cursor: filters.cursor,
  };
}

/**
 * Whether a delivery the stream announced belongs on the first page of this view, as far as its row tells
 * (the payload filter it cannot tell: then the page asks the API again, which knows).
 */
export function mayBelong(change: DeliveryChange, filters: DeliveryFilters, now: number): boolean {
  if (filters.cursor) return false;
  if (filters.app_id && change.app_id !== filters.app_id) return false;
  if (filters.subscription_id && change.subscription_id !== filters.subscription_id) return false;
  if (filters.event_type && change.event_type !== filters.event_type) return false;
  if (isStatus(filters.status) && change.status !== filters.status) return false;
  const created = Date.parse(change.created_at);
  if (filters.created_after && created < new Date(filters.created_after).getTime()) return false;
  if (filters.created_before && created >= new Date(filters.created_before).getTime()) return false;
  return created <= now + 60_000;
}
