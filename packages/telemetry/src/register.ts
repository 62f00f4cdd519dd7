/**
 * Load before the app: `node --import tsx --import @hookpost/telemetry/src/register.ts services/<name>/src/index.ts`.
 * Starts the OpenTelemetry Node SDK with the auto-instrumentations for http, express, kafkajs, amqplib, pg, redis
 * and undici, configured by the standard OTEL_* variables (OTEL_EXPORTER_OTLP_ENDPOINT, OTEL_EXPORTER_OTLP_PROTOCOL,
 * OTEL_SERVICE_NAME, ...). Silent, and nothing is started, unless an exporter endpoint is configured.
 */
import { startTelemetry } from './index';

startTelemetry();
