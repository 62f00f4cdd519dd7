/** The markdown table of a bench result, with the targets of a 2-core machine next to the figures. */
type Processes = Record<string, { cpu_percent: number; rss_mib: number }>;
type ClosedLoopRun = { requests_per_s: number; p50_ms: number; p99_ms: number };
type OpenModelRun = {
  offered_per_s: number;
  failing_first_attempts: number;
  phases_s: { warmup: number; steady: number; drain: number };
  ledger: { sent: number; accepted: number; refused: number; delivered: number; still_retrying: number; lost: number; retried: number };
  steady: { first_attempts_per_s: number; first_attempt_p50_ms: number; first_attempt_p99_ms: number; delivered_p50_ms: number; delivered_p99_ms: number };
  projection: { lag_p50_s_at_most: number | null; lag_p99_s_at_most: number | null };
  processes: Processes;
  cpu_per_webhook?: { per_process_us: Record<string, number>; total_us: number };
};
type Result = {
  at: string;
  machine: { cpus: number; cpu: string; memory_gib: number; node: string; platform: string };
  settings: { warmup_s: number; steady_s: number; connections: number; subscriptions: number };
  ingest?: {
    hookpost: ClosedLoopRun & { processes: Processes };
    hookpost_consumers_paused: ClosedLoopRun & { processes: Processes };
    bare_express: ClosedLoopRun;
    ratio: number;
    ratio_consumers_paused: number;
  };
  idle?: { seconds: number; stack_cpu_percent: number; processes: Processes };
  e2e?: OpenModelRun[];
  capacity?: { p99_limit_ms: number; capacity_per_s: number; first_over_per_s: number | null; tried: { rate: number; first_attempt_p99_ms: number; refused: number; lost: number; ok: boolean; cpu_per_webhook_us?: number }[] };
  failing?: OpenModelRun;
  projection?: { backlog_webhooks: number; events_applied: number; rows_written: number; seconds_to_catch_up: number; seconds_applying: number; events_per_s: number; rows_per_s: number; consumer_lag_left: number; processes: Processes };
  scaleout?: { rate: number; one_dispatcher: OpenModelRun; two_dispatchers: OpenModelRun };
  readafterwrite?: { idle: ReadAfterWrite; loaded: ReadAfterWrite & { rate: number; background_lost: number } };
  fanout?: FanOutRun;
  ratelimit?: RateLimitRun;
  ordered?: {
    phases_s: { sending: number; drain: number };
    sent_per_s: number;
    ledger: { messages_accepted: number; arrived: number; missing: number; duplicates: number; out_of_order: number; unexpected: number };
    deliveries_per_s: number;
    latency_p50_ms: number;
    latency_p99_ms: number;
    processes: Processes;
  };
  logreplay?: {
    messages_sent: number;
    messages_accepted: number;
    send_s: number;
    ledger: { replayed: number; missing: number; duplicates: number };
    seconds_to_all_arrived: number | null;
    seconds_to_task_end: number | null;
    messages_per_s: number | null;
    processes: Processes;
  };
};
type RateLimitRun = {
  offered_per_s: number;
  phases_s: { sending: number; drain: number };
  ledger: { messages_accepted: number; deliveries_expected: number; deliveries_arrived: number; missing: number; duplicates: number };
  limited: { limit_per_s: number; deliveries_per_s: number; most_in_one_second: number; wait_p50_ms: number; wait_p99_ms: number; behind_ideal_p50_ms: number; behind_ideal_p99_ms: number };
  unlimited: { wait_p50_ms: number; wait_p99_ms: number };
  limited_attempts: Record<string, number>;
  processes: Processes;
};
type FanOutRun = {
  endpoints: number;
  messages_offered_per_s: number;
  deliveries_offered_per_s: number;
  phases_s: { warmup: number; steady: number; drain: number };
  ledger: { messages_sent: number; messages_accepted: number; deliveries_expected: number; deliveries_arrived: number; missing: number; messages_incomplete: number; duplicates: number; unexpected: number };
  steady: {
    messages_accepted_per_s: number;
    deliveries_per_s: number;
    accept_p99_ms: number;
    from_accepted_p50_ms: number;
    from_accepted_p99_ms: number;
    from_send_p99_ms: number;
  };
  seconds_to_catch_up: number;
  processes: Processes;
  cpu_per_delivery: { per_process_us: Record<string, number>; total_us: number };
};
type Latency = { p50_ms: number; p99_ms: number };
type ReadAfterWrite = { pairs: number; stale: number; patch_then_get: Latency; ingest_then_get: Latency };

const openModelHeader = [
  '| run | offered/s | accepted | delivered | retrying | lost | retried | first attempts/s | first p50 ms | first p99 ms | 2xx p50 ms | 2xx p99 ms | projection lag p99 ≤ s | drain s | CPU µs / webhook |',
  '|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|',
];
const openModelRow = (label: string, r: OpenModelRun) =>
  `| ${label} | ${r.offered_per_s} | ${r.ledger.accepted} | ${r.ledger.delivered} | ${r.ledger.still_retrying} | ${r.ledger.lost} | ${r.ledger.retried} | ${r.steady.first_attempts_per_s} | ${r.steady.first_attempt_p50_ms} | ${r.steady.first_attempt_p99_ms} | ${r.steady.delivered_p50_ms} | ${r.steady.delivered_p99_ms} | ${r.projection.lag_p99_s_at_most ?? '–'} | ${r.phases_s.drain} | ${r.cpu_per_webhook?.total_us ?? '–'} |`;

/** CPU per delivered webhook, each process and the stack, for each run (µs). */
function cpuPerWebhookTable(runs: [string, OpenModelRun][]): string[] {
  const measured = runs.filter(([, run]) => run.cpu_per_webhook);
  if (measured.length === 0) return [];
  const names = [...new Set(measured.flatMap(([, run]) => Object.keys(run.cpu_per_webhook!.per_process_us)))];
  return [
    'CPU per delivered webhook (µs; the whole run, warm-up and drain included, over the webhooks it delivered; the stack total leaves out the load generator). Target ≤ 1,000 µs at 200/s, 500/s and 1,500/s.',
    '',
    `| process | ${measured.map(([label]) => label).join(' | ')} |`,
    `|---|${measured.map(() => '---|').join('')}`,
    ...names.map((name) => `| ${name} | ${measured.map(([, run]) => run.cpu_per_webhook!.per_process_us[name] ?? '–').join(' | ')} |`),
    `| **stack total** | ${measured.map(([, run]) => `**${run.cpu_per_webhook!.total_us}**`).join(' | ')} |`,
    '',
  ];
}

function processTable(runs: [string, Processes][]): string[] {
  const names = [...new Set(runs.flatMap(([, processes]) => Object.keys(processes)))];
  return [
    `| process | ${runs.map(([label]) => `${label}: CPU % / MiB`).join(' | ')} |`,
    `|---|${runs.map(() => '---|').join('')}`,
    ...names.map((name) => `| ${name} | ${runs.map(([, processes]) => (processes[name] ? `${processes[name].cpu_percent} / ${processes[name].rss_mib}` : '–')).join(' | ')} |`),
  ];
}

export function markdown(result: Result): string {
  const { machine, settings } = result;
  const lines = [
    `# Bench ${result.at}`,
    '',
    `${machine.cpus} × ${machine.cpu}, ${machine.memory_gib} GiB, ${machine.platform}, Node ${machine.node}; every broker on this machine.`,
    `Each measured run: ${settings.warmup_s} s warm-up (not counted), ${settings.steady_s} s steady; closed loops use ${settings.connections} connections; open-model load is spread over ${settings.subscriptions} subscriptions.`,
    '',
  ];
  const processRuns: [string, Processes][] = [];
  if (result.idle) {
    lines.push(
      '## Idle (no traffic)',
      '',
      `The whole stack (services and brokers) used **${result.idle.stack_cpu_percent} %** of one core over ${result.idle.seconds} s with no traffic (target ≤ 5 %); each process below.`,
      '',
    );
    processRuns.push(['idle', result.idle.processes]);
  }
  if (result.ingest) {
    const { hookpost, hookpost_consumers_paused: alone, bare_express: bare } = result.ingest;
    lines.push(
      '## Ingest (closed loop, acks=all)',
      '',
      '| server | 202/s | p50 ms | p99 ms | ratio to bare Express | target |',
      '|---|---|---|---|---|---|',
      `| Hookpost, whole pipeline delivering | ${hookpost.requests_per_s} | ${hookpost.p50_ms} | ${hookpost.p99_ms} | ${result.ingest.ratio} | ≥ 3000/s, ≥ 0.5 |`,
      `| Hookpost, dispatcher and projector paused | ${alone.requests_per_s} | ${alone.p50_ms} | ${alone.p99_ms} | ${result.ingest.ratio_consumers_paused} | |`,
      `| bare Express, same POST | ${bare.requests_per_s} | ${bare.p50_ms} | ${bare.p99_ms} | 1 | |`,
      '',
    );
    processRuns.push(['ingest', hookpost.processes], ['ingest, consumers paused', alone.processes]);
  }
  const runs: [string, OpenModelRun][] = [
    ...(result.e2e ?? []).map((run) => [`e2e ${run.offered_per_s}/s`, run] as [string, OpenModelRun]),
    ...(result.failing ? [[`10% failing ${result.failing.offered_per_s}/s`, result.failing] as [string, OpenModelRun]] : []),
    ...(result.scaleout
      ? [
          [`1 dispatcher ${result.scaleout.rate}/s`, result.scaleout.one_dispatcher] as [string, OpenModelRun],
          [`2 dispatchers ${result.scaleout.rate}/s`, result.scaleout.two_dispatchers] as [string, OpenModelRun],
        ]
      : []),
  ];
  if (runs.length > 0) {
    lines.push(
      '## End to end (open model, receiver in the load generator)',
      '',
      'Latency from the scheduled send time to the receiver reading the request: its first attempt, and the attempt it answered 2xx.',
      'Ledger over every webhook sent, warm-up included: accepted = delivered + still retrying + lost. Targets: ≥ 1500 deliveries/s with 0 lost; p99 ≤ 50 ms at 500/s.',
      '',
      ...openModelHeader,
      ...runs.map(([label, run]) => openModelRow(label, run)),
      '',
      ...cpuPerWebhookTable(runs),
    );
    processRuns.push(...runs.map(([label, run]) => [label, run.processes] as [string, Processes]));
  }
  if (result.capacity) {
    const c = result.capacity;
    lines.push(
      `## Capacity at first-attempt p99 ≤ ${c.p99_limit_ms} ms`,
      '',
      `**${c.capacity_per_s}/s**${c.first_over_per_s ? ` (${c.first_over_per_s}/s was over)` : ''}, open model, nothing refused or lost.`,
      '',
      '| offered/s | first p99 ms | refused | lost | within | CPU µs / webhook |',
      '|---|---|---|---|---|---|',
      ...c.tried.map((t) => `| ${t.rate} | ${t.first_attempt_p99_ms} | ${t.refused} | ${t.lost} | ${t.ok ? 'yes' : 'no'} | ${t.cpu_per_webhook_us ?? '–'} |`),
      '',
    );
  }
  if (result.projection) {
    const p = result.projection;
    lines.push(
      '## Projection (paused while a backlog builds, then timed catching up)',
      '',
      '| backlog webhooks | events | rows | s to catch up | s applying | events/s | rows/s | target |',
      '|---|---|---|---|---|---|---|---|',
      `| ${p.backlog_webhooks} | ${p.events_applied} | ${p.rows_written} | ${p.seconds_to_catch_up} | ${p.seconds_applying} | ${p.events_per_s} | ${p.rows_per_s} | ≥ 5000 rows/s, lag p99 ≤ 1 s (lag: end-to-end table) |`,
      '',
    );
    processRuns.push(['projection catch-up', p.processes]);
  }
  if (result.readafterwrite) {
    const { idle, loaded } = result.readafterwrite;
    const row = (label: string, r: ReadAfterWrite) =>
      `| ${label} | ${r.pairs} | ${r.stale} | ${r.patch_then_get.p50_ms} | ${r.patch_then_get.p99_ms} | ${r.ingest_then_get.p50_ms} | ${r.ingest_then_get.p99_ms} |`;
    lines.push(
      '## Read right after a write (read-your-writes)',
      '',
      'Each read is sent the moment its write is answered and waits until the read model has applied the write; time of the read alone.',
      '',
      '| load | pairs | stale reads | PATCH → GET p50 ms | p99 ms | ingest → GET delivery p50 ms | p99 ms |',
      '|---|---|---|---|---|---|---|',
      row('idle', idle),
      row(`${loaded.rate}/s ingest (lost: ${loaded.background_lost})`, loaded),
      '',
    );
  }
  if (result.fanout) {
    const f = result.fanout;
    const { ledger, steady } = f;
    lines.push(
      `## Fan-out (one application, ${f.endpoints} endpoints, open model)`,
      '',
      `Messages sent to one application of the Svix API (/api/v1) whose ${f.endpoints} endpoints all point at the receiver (a path each). Latency per delivery, from the message's 202 to the first request at that endpoint, and from its scheduled send time.`,
      'Ledger over every message sent, warm-up included: every accepted message must reach every endpoint (missing: never seen after the drain). Target: 50 messages/s × 100 endpoints = 5,000 deliveries/s.',
      '',
      '| messages offered/s | accepted/s | deliveries offered/s | deliveries/s | 202 p99 ms | 202 → endpoint p50 ms | p99 ms | send → endpoint p99 ms | messages accepted | deliveries | missing | duplicates | drain s | catch-up s | CPU µs per delivery |',
      '|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|',
      `| ${f.messages_offered_per_s} | ${steady.messages_accepted_per_s} | ${f.deliveries_offered_per_s} | ${steady.deliveries_per_s} | ${steady.accept_p99_ms} | ${steady.from_accepted_p50_ms} | ${steady.from_accepted_p99_ms} | ${steady.from_send_p99_ms} | ${ledger.messages_accepted} | ${ledger.deliveries_arrived} | ${ledger.missing} | ${ledger.duplicates} | ${f.phases_s.drain} | ${f.seconds_to_catch_up} | ${f.cpu_per_delivery.total_us} |`,
      '',
      'CPU per delivery, in µs, over the load and the catch-up after it (the total is the stack without the load generator):',
      '',
      '| process | µs per delivery |',
      '|---|---|',
      ...Object.entries(f.cpu_per_delivery.per_process_us).map(([name, micros]) => `| ${name} | ${micros} |`),
      `| **stack total** | **${f.cpu_per_delivery.total_us}** |`,
      '',
    );
    processRuns.push([`fan-out ${f.deliveries_offered_per_s}/s`, f.processes]);
  }
  if (result.ratelimit) {
    const r = result.ratelimit;
    const { limited, unlimited, ledger } = r;
    const attempts = Object.entries(r.limited_attempts).map(([outcome, count]) => `${outcome}: ${count}`).join(', ') || '–';
    lines.push(
      `## Rate-limited endpoint (limit ${limited.limit_per_s}/s, offered ${r.offered_per_s} messages/s for ${r.phases_s.sending} s)`,
      '',
      'One application, one endpoint with throttleRate and one without, every message to both. The limited endpoint drains its backlog at its pace: deliveries/s from its first to its last arrival (the limit is the most it can be), the most in any one second (at most limit + 1), wait from the 202 to the arrival, and how far the k-th arrival came behind a perfect limiter\'s k-th (the cost of turns and deferrals). The unlimited endpoint must not be held up.',
      '',
      '| limit/s | achieved/s | most in 1 s | wait p50 ms | wait p99 ms | behind ideal p50 ms | p99 ms | unlimited p50 ms | unlimited p99 ms | messages | deliveries | missing | duplicates | drain s |',
      '|---|---|---|---|---|---|---|---|---|---|---|---|---|---|',
      `| ${limited.limit_per_s} | ${limited.deliveries_per_s} | ${limited.most_in_one_second} | ${limited.wait_p50_ms} | ${limited.wait_p99_ms} | ${limited.behind_ideal_p50_ms} | ${limited.behind_ideal_p99_ms} | ${unlimited.wait_p50_ms} | ${unlimited.wait_p99_ms} | ${ledger.messages_accepted} | ${ledger.deliveries_arrived} | ${ledger.missing} | ${ledger.duplicates} | ${r.phases_s.drain} |`,
      '',
      `The dispatcher's attempts of the limited endpoint: ${attempts}.`,
      '',
    );
    processRuns.push([`rate limit ${limited.limit_per_s}/s`, r.processes]);
  }
  if (result.ordered) {
    const r = result.ordered;
    lines.push(
      '## Ordered endpoint (one lane, receiver answering 200 at once)',
      '',
      'One application, one ordered endpoint; messages sent one after the other (each 202 before the next, so the log\'s order is the sending order). The lane sends one at a time, each after the one before ended: deliveries/s from the first to the last arrival, 202 → arrival (including the wait behind the messages before it), and arrivals out of order (must be 0).',
      '',
      '| messages | sent/s | deliveries/s | p50 ms | p99 ms | arrived | missing | duplicates | out of order | drain s |',
      '|---|---|---|---|---|---|---|---|---|---|',
      `| ${r.ledger.messages_accepted} | ${r.sent_per_s} | ${r.deliveries_per_s} | ${r.latency_p50_ms} | ${r.latency_p99_ms} | ${r.ledger.arrived} | ${r.ledger.missing} | ${r.ledger.duplicates} | ${r.ledger.out_of_order} | ${r.phases_s.drain} |`,
      '',
    );
    processRuns.push(['ordered endpoint', r.processes]);
  }
  if (result.logreplay) {
    const r = result.logreplay;
    lines.push(
      '## Replay from the log (one endpoint, a background task)',
      '',
      'Messages sent to an application without endpoints, then all of them replayed from the log (POST …/replay-from-log) to one endpoint at the receiver. Timed from the request to the last message arriving, and to the task reading finished.',
      '',
      '| messages accepted | replayed | missing | duplicates | s to all arrived | s to task end | messages/s |',
      '|---|---|---|---|---|---|---|',
      `| ${r.messages_accepted} | ${r.ledger.replayed} | ${r.ledger.missing} | ${r.ledger.duplicates} | ${r.seconds_to_all_arrived ?? '–'} | ${r.seconds_to_task_end ?? '–'} | ${r.messages_per_s ?? '–'} |`,
      '',
    );
    processRuns.push([`log replay ${r.messages_accepted}`, r.processes]);
  }
  if (processRuns.length > 0) {
    lines.push('## Processes', '', 'CPU in % of one core over the run (200 = both cores), then memory (proportional set size, MiB); PostgreSQL is the sum of its processes.', '', ...processTable(processRuns), '');
  }
  return lines.join('\n');
}
