/**
 * Load before the app: the build bundles it as services/<name>/dist/register.js, run with
 * `node --import ./services/<name>/dist/register.js services/<name>/dist/index.js` (scripts/build.mjs).
 * Starts the OpenTelemetry Node SDK with the auto-instrumentations for http, express, kafkajs, amqplib, pg, redis
 * and undici, configured by the standard OTEL_* variables (OTEL_EXPORTER_OTLP_ENDPOINT, OTEL_EXPORTER_OTLP_PROTOCOL,
 * OTEL_SERVICE_NAME, ...). Silent, and nothing is started, unless an exporter endpoint is configured.
 */
import { startTelemetry } from './index';

startTelemetry();
