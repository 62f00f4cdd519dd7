import { intOption, stringOption } from '../commandLine';
import type { Handler } from '../context';
import { jsonLine } from '../output';
import { stopSignal } from '../signals';
import { PollingDeliveryFeed } from '../tail/pollingDeliveryFeed';
import type { DeliveryFeed } from '../tail/deliveryFeed';
import { parseTime } from '../time';
import { attemptLine } from '../views';
import { UsageError } from '../errors';

/** `tail`: each delivery attempt as a line (or a JSON line) as it is recorded, until Ctrl-C or SIGTERM. */
export const tail: Handler = async (context, args, options) => {
  const app = args.app;
  if (app === undefined) throw new UsageError('missing <app>');
  const sinceText = stringOption(options.since);
  const since = sinceText === undefined ? undefined : Date.parse(parseTime(sinceText, context.io.now(), '--since'));
  const client = await context.client();
  // Fails early, with the API's own words, when the application does not exist or the key does not reach it.
  await client.getApplication(app);
  const feed: DeliveryFeed = new PollingDeliveryFeed(client, {
    app,
    endpoints: (options.endpoint as string[] | undefined) ?? [],
    sinceMs: since,
    intervalMs: intOption(options.interval, 'interval', { min: 100, max: 600_000 }) ?? 1_000,
    now: () => context.io.now().getTime(),
  });
  const stop = stopSignal();
  if (!context.json) context.note(context.paint('dim', `Following delivery attempts of ${app}${since === undefined ? '' : ` since ${new Date(since).toISOString()}`} (Ctrl-C to stop)…`));
  try {
    for await (const item of feed.follow(stop.signal)) {
      switch (item.kind) {
        case 'attempt':
          context.out(context.json ? jsonLine(item.attempt) : attemptLine(item.attempt, context.paint));
          break;
        case 'notice':
          context.note(context.json ? jsonLine({ notice: item.message }).trimEnd() : context.paint('yellow', item.message));
          break;
        default: {
          const unknown: never = item;
          throw new Error(`unknown feed item ${JSON.stringify(unknown)}`);
        }
      }
    }
  } finally {
    stop.dispose();
  }
};
