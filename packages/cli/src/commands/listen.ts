import { hostname } from 'node:os';
import { generateSecret, verify } from '@hookpost/signing';
import { intOption, listOption, stringOption } from '../commandLine';
import type { Handler } from '../context';
import { ApiError, CliError, exitCodes, UsageError } from '../errors';
import { startLocalForwarder, type ForwardedDelivery } from '../listen/localForwarder';
import { clockTime, httpStatusStyle, jsonLine, printable, type Paint } from '../output';
import { stopSignal } from '../signals';

/**
 * What to tell the user when Hookpost refuses the temporary endpoint's URL because it is not a public address
 * (its SSRF rules): which setting allows it, bound to the port `listen` takes deliveries on. Undefined for any
 * other error.
 */
export function refusedTargetHint(error: unknown, endpointUrl: string, listenPortGiven: boolean): string | undefined {
  if (!(error instanceof ApiError) || error.status !== 422 || !/not a public address/.test(error.detail)) return undefined;
  const port = new URL(endpointUrl).port;
  return [
    `Hookpost refuses to deliver to ${endpointUrl}: ${error.detail}.`,
    `Deliveries to this machine must be allowed where Hookpost runs: start its gateway and dispatcher with`,
    `HOOKPOST_ALLOWED_TARGET_CIDRS=127.0.0.1/32:${listenPortGiven ? port : '<port>'}` + (listenPortGiven ? '' : ` and run listen with --listen-port <port>`) + '.',
  ].join(' ');
}

/** One forwarded delivery as a line: when, what, which message, the local answer, and whether its signature checks. */
export function deliveryLine(delivery: ForwardedDelivery, signature: 'verified' | 'bad' | 'unsigned', at: Date, paint: Paint): string {
  const id = delivery.headers['webhook-id'];
  const outcome = delivery.status === undefined ? paint('red', `✗ ${delivery.error ?? 'not forwarded'}`) : paint(httpStatusStyle(delivery.status), `→ ${delivery.status}`);
  return [
    paint('dim', clockTime(at)),
    `${delivery.method} ${printable(delivery.path)}`,
    typeof id === 'string' ? printable(id) : '-',
    outcome,
    `${delivery.durationMs} ms`,
    signature === 'verified' ? paint('dim', 'signature ok') : signature === 'bad' ? paint('red', 'signature does not verify') : paint('yellow', 'unsigned'),
  ].join('  ');
}

function signatureOf(delivery: ForwardedDelivery, secret: string): 'verified' | 'bad' | 'unsigned' {
  if (delivery.headers['webhook-signature'] === undefined) return 'unsigned';
  try {
    verify(secret, delivery.body.toString('utf8'), delivery.headers);
    return 'verified';
  } catch (error) {
    return error instanceof SyntaxError ? 'verified' : 'bad';
  }
}

/**
 * `listen <port>`: a forwarder on 127.0.0.1, a temporary endpoint of the application pointing at it, a line
 * per delivery; the endpoint is deleted on Ctrl-C or SIGTERM.
 */
export const listen: Handler = async (context, args, options) => {
  const targetPort = intOption(args.port, 'port', { min: 1, max: 65_535 });
  if (targetPort === undefined) throw new UsageError('missing <port>');
  const app = stringOption(options.app);
  if (!app) throw new UsageError('listen needs --app <app>: the application whose deliveries to forward');
  const listenPort = intOption(options['listen-port'], 'listen-port', { min: 0, max: 65_535 }) ?? 0;
  // (port 0 is any free port: a different one each run, which no allowlist entry can name)
  const listenPortGiven = listenPort !== 0;
  const path = stringOption(options.path) ?? '/';
  if (!path.startsWith('/')) throw new UsageError('--path must start with /');
  const client = await context.client();
  await client.getApplication(app);

  // The endpoint's secret is made here, so that every delivery, the first included, can be checked.
  const secret = generateSecret();
  const stop = stopSignal();
  const forwarder = await startLocalForwarder({
    listenPort,
    targetPort,
    onDelivery: (delivery) => {
      const signature = signatureOf(delivery, secret);
      const at = context.io.now();
      context.out(
        context.json
          ? jsonLine({
              event: 'delivery',
              at: at.toISOString(),
              method: delivery.method,
              path: delivery.path,
              webhookId: delivery.headers['webhook-id'] ?? null,
              status: delivery.status ?? null,
              error: delivery.error ?? null,
              durationMs: delivery.durationMs,
              signature,
            })
          : deliveryLine(delivery, signature, at, context.paint),
      );
    },
  }).catch((error: NodeJS.ErrnoException) => {
    stop.dispose();
    if (error.code === 'EADDRINUSE') throw new CliError(`port ${listenPort} on 127.0.0.1 is taken: choose another --listen-port`, exitCodes.failed);
    throw error;
  });

  const endpointUrl = stringOption(options['endpoint-url']) ?? `http://127.0.0.1:${forwarder.port}${path}`;
  const eventTypes = listOption(options['event-types']);
  const channels = listOption(options.channels);
  let endpointId: string;
  try {
    const endpoint = await client.createEndpoint(app, {
      url: endpointUrl,
      description: `hookpost listen: forwards to 127.0.0.1:${targetPort} on ${hostname()} (temporary, pid ${process.pid})`,
      metadata: { createdBy: 'hookpost listen' },
      ...(eventTypes && eventTypes.length > 0 ? { filterTypes: eventTypes } : {}),
      ...(channels && channels.length > 0 ? { channels } : {}),
      secret,
    });
    endpointId = endpoint.id;
  } catch (error) {
    stop.dispose();
    await forwarder.close();
    const hint = refusedTargetHint(error, endpointUrl, listenPortGiven);
    if (hint) throw new CliError(hint, exitCodes.failed, (error as ApiError).details);
    throw error;
  }

  if (context.json) {
    context.out(jsonLine({ event: 'ready', app, endpointId, endpointUrl, forwardTo: `http://127.0.0.1:${targetPort}`, secret }));
  } else {
    context.note(`Forwarding deliveries of ${app} to http://127.0.0.1:${targetPort} through the temporary endpoint ${endpointId} (${endpointUrl}).`);
    context.note(`Its signing secret: ${secret}`);
    context.note(context.paint('dim', 'Ctrl-C deletes the endpoint and stops.'));
  }
  if (!stop.signal.aborted) await new Promise<void>((resolve) => stop.signal.addEventListener('abort', () => resolve(), { once: true }));
  await forwarder.close();
  try {
    await client.deleteEndpoint(app, endpointId);
  } catch (error) {
    if (!(error instanceof ApiError && error.status === 404)) {
      stop.dispose();
      throw new CliError(`could not delete the temporary endpoint ${endpointId} (${(error as Error).message}): delete it with \`hookpost endpoints delete ${app} ${endpointId}\``, exitCodes.failed);
    }
  }
  stop.dispose();
  if (context.json) context.out(jsonLine({ event: 'stopped', endpointId, deleted: true }));
  else context.note(`Deleted the temporary endpoint ${endpointId}.`);
};
