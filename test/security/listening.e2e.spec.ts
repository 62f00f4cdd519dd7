import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { jaegerPortVariables } from '../support/jaeger';
import { spawnService, type ServiceProcess } from '../support/processes';
import { isLoopback, tcpListeners, type Listener } from '../support/listeners';
import { removeRunResources, runEnv } from '../support/stack';

jest.setTimeout(120_000);

/**
 * Nothing of ours listens beyond loopback: every TCP listener of each broker infra/local.sh starts (found by
 * the port it serves, then every other port the same process holds: Kafka's controller, RabbitMQ's Erlang
 * distribution port) and of each service as `npm start` starts it. Read from the kernel's socket table
 * (`ss -ltnp`, or /proc): no traffic leaves loopback. Other programs on the machine are not ours to judge.
 */
const portOf = (url: string | undefined, fallback: number) => (url ? Number(new URL(url).port) || fallback : fallback);
const AMQP_PORT = portOf(process.env.AMQP_URL, 5672);
const brokers: [name: string, port: number, alsoHolds: number[]][] = [
  ['PostgreSQL', portOf(process.env.DATABASE_URL, 5432), []],
  ['Redis', portOf(process.env.REDIS_URL, 6379), []],
  // (RabbitMQ's Erlang distribution listens on the AMQP port + 20000: how rabbitmqctl reaches the node)
  ['RabbitMQ', AMQP_PORT, [AMQP_PORT + 20_000]],
  // epmd, the Erlang port mapper RabbitMQ registers with (infra/local.sh sets ERL_EPMD_ADDRESS)
  ['epmd', Number(process.env.ERL_EPMD_PORT ?? 4369), []],
  ['Kafka', Number((process.env.KAFKA_BROKERS ?? '127.0.0.1:9092').split(',')[0]!.split(':').pop()), []],
];

/** The Jaeger `HOOKPOST_JAEGER=1 npm start` started from this checkout, when it runs (its pid file names a live process). */
function jaegerOfNpmStart(): number | undefined {
  const pidfile = path.join(process.env.HOOKPOST_STATE_DIR ?? path.resolve(__dirname, '../..', '.hookpost'), 'run', 'jaeger.pid');
  if (!existsSync(pidfile)) return undefined;
  const pid = Number(readFileSync(pidfile, 'utf8').trim());
  try {
    process.kill(pid, 0);
    return pid;
  } catch {
    return undefined;
  }
}

/** Every listener of the processes holding `port`, as `address:port (command)`. */
function listenersOfOwnersOf(port: number, table: Listener[]): { owners: number[]; all: Listener[] } {
  const owners = [...new Set(table.filter((listener) => listener.port === port).flatMap((listener) => listener.pids))];
  return { owners, all: table.filter((listener) => listener.pids.some((pid) => owners.includes(pid))) };
}

const describeListener = (listener: Listener) => `${listener.address}:${listener.port} (${listener.commands.join(',')})`;

describe('what listens, and where', () => {
  it.each(brokers)('every TCP listener of %s (the process on :%i) is on loopback', (_name, port, alsoHolds) => {
    // Given the machine's listening sockets, and the processes that hold the broker's port
    const { owners, all } = listenersOfOwnersOf(port, tcpListeners());
    // (a listener with no process named would make this pass on nothing: ss needs root to name other users')
    expect(owners.length).toBeGreaterThan(0);
    // Then each of those processes listens on loopback only, on every port it holds
    expect(all.filter((listener) => !isLoopback(listener.address)).map(describeListener)).toEqual([]);
    expect(all.map((listener) => listener.port)).toEqual(expect.arrayContaining([port, ...alsoHolds]));
  });

  // The jaeger tier checks a Jaeger it starts with the same configuration (test/jaeger); this one is the Jaeger
  // that runs here, if any, on the ports its own environment gave it (HOOKPOST_JAEGER_*, else the defaults).
  const jaegerPid = jaegerOfNpmStart();
  (jaegerPid ? it : it.skip)('every TCP listener of Jaeger, when HOOKPOST_JAEGER=1 npm start runs it, is on loopback', () => {
    // Given the listeners of the process npm start recorded
    const own = tcpListeners().filter((listener) => listener.pids.includes(jaegerPid!));
    // Then each is on loopback, and OTLP and the query API are among them
    expect(own.filter((listener) => !isLoopback(listener.address)).map(describeListener)).toEqual([]);
    const environ = Object.fromEntries(readFileSync(`/proc/${jaegerPid}/environ`, 'utf8').split('\0').map((entry) => entry.split('=', 2)));
    const configured = Object.entries(jaegerPortVariables).map(([name, port]) => Number(environ[name] || port));
    expect(own.map((listener) => listener.port)).toEqual(expect.arrayContaining(configured));
  });

  describe('the services as npm start runs them', () => {
    const run = runEnv();
    const services: ServiceProcess[] = [];

    beforeAll(async () => {
      // Without HOOKPOST_BIND_HOST: the default is what is checked.
      const { HOOKPOST_BIND_HOST: _unset, ...env } = run.env;
      const projector = await spawnService('projector', env);
      services.push(projector);
      const withProjector = { ...env, PROJECTOR_URL: `http://127.0.0.1:${projector.port}` };
      services.push(await spawnService('dispatcher', withProjector));
      services.push(await spawnService('gateway', withProjector));
    });

    afterAll(async () => {
      for (const service of services.reverse()) await service.stop();
      await removeRunResources({ topicPrefix: run.topicPrefix, schema: run.schema, redisPrefix: run.env.HOOKPOST_REDIS_PREFIX!, env: run.env });
    });

    it('each listens on 127.0.0.1 only, and on nothing but its own port', () => {
      const table = tcpListeners();
      for (const service of services) {
        const own = table.filter((listener) => listener.pids.includes(service.child.pid!)).map(describeListener);
        expect({ service: service.name, listeners: own }).toEqual({ service: service.name, listeners: [`127.0.0.1:${service.port} (node)`] });
      }
    });
  });
});
