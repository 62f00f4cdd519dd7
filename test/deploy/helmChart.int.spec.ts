import { execFileSync, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseAllDocuments } from 'yaml';
import { dispatcherEnvSpec } from '../../services/dispatcher/src/env';
import { gatewayEnvSpec } from '../../services/gateway/src/env';
import { projectorEnvSpec } from '../../services/projector/src/env';

/**
 * The Helm chart (deploy/helm/hookpost), linted and rendered by a real helm (scripts/lib.sh builds it from the
 * Go module proxy when missing; npm test does so before jest) and read back as Kubernetes objects. Nothing is
 * installed: there is no cluster here, so this checks what the chart would ask a cluster for.
 */

// Building helm from cold caches takes minutes; once built, ensure_helm returns at once.
jest.setTimeout(900_000);

const ROOT = path.resolve(__dirname, '../..');
const CHART = path.join(ROOT, 'deploy/helm/hookpost');
const COMPONENTS = ['gateway', 'dispatcher', 'projector'] as const;
type Component = (typeof COMPONENTS)[number];
const ENV_SPECS: Record<Component, Record<string, unknown>> = { gateway: gatewayEnvSpec, dispatcher: dispatcherEnvSpec, projector: projectorEnvSpec };

type K8sObject = { apiVersion: string; kind: string; metadata: { name: string; labels?: Record<string, string> }; spec?: any; data?: Record<string, string>; stringData?: Record<string, string> };
type Rendered = { status: number | null; stderr: string; objects: K8sObject[] };

let helm: string;
let work: string;

beforeAll(() => {
  helm = execFileSync('bash', ['-c', 'source scripts/lib.sh && ensure_helm >&2 && echo "$HELM"'], { cwd: ROOT, encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] }).trim();
  work = mkdtempSync(path.join(os.tmpdir(), 'hookpost-helm-'));
});

afterAll(() => {
  if (work) rmSync(work, { recursive: true, force: true });
});

/**
 * helm with its own homes and no kubeconfig (no repositories, cache or cluster of the user's, and none of the
 * warnings a loosely readable kubeconfig prints), so the test depends on nothing but the chart.
 */
function runHelm(args: string[]) {
  const homes = { HELM_CACHE_HOME: path.join(work, 'cache'), HELM_CONFIG_HOME: path.join(work, 'config'), HELM_DATA_HOME: path.join(work, 'data'), KUBECONFIG: path.join(work, 'no-kubeconfig') };
  return spawnSync(helm, args, { cwd: ROOT, encoding: 'utf8', env: { ...process.env, ...homes } });
}

let valuesFiles = 0;
/** A values file (JSON is YAML) for helm -f. */
function valuesFile(values: object): string {
  const file = path.join(work, `values-${++valuesFiles}.json`);
  writeFileSync(file, JSON.stringify(values));
  return file;
}

function render(values: object): Rendered {
  const result = runHelm(['template', 'hp', CHART, '--namespace', 'hooks', '-f', valuesFile(values)]);
  const objects = result.status === 0 ? parseAllDocuments(result.stdout).map((document) => document.toJS() as K8sObject).filter(Boolean) : [];
  return { status: result.status, stderr: result.stderr, objects };
}

function lint(values: object) {
  return runHelm(['lint', '--strict', CHART, '-f', valuesFile(values)]);
}

const masterKey = () => `k${randomBytes(3).toString('hex')}:${randomBytes(32).toString('base64')}`;
const secretLike = () => randomBytes(18).toString('base64url');

/** What an operator with brokers of their own sets at the least: the bundled-nothing minimum. */
function minimalValues() {
  const passwords = { db: secretLike(), redis: secretLike(), rabbit: secretLike() };
  const values = {
    kafka: { brokers: ['kafka.brokers.svc:9092'] },
    secrets: { masterKeys: masterKey(), apiKeys: `hp_${secretLike()}` },
    postgresql: { url: `postgres://hookpost:${passwords.db}@pg.db.svc:5432/hookpost` },
    redis: { url: `redis://:${passwords.redis}@redis.redis.svc:6379` },
    rabbitmq: { url: `amqp://hookpost:${passwords.rabbit}@rabbitmq.rabbitmq.svc:5672` },
  };
  return { values, secrets: [values.secrets.masterKeys, values.secrets.apiKeys, ...Object.values(passwords)] };
}

/** Pointed at operators' brokers: Strimzi's bootstrap Service, CloudNativePG's app Secret, the operator's own Secret for the rest. */
const externalBrokerValues = {
  existingSecret: 'hookpost-keys',
  kafka: { brokers: ['events-kafka-bootstrap.kafka.svc:9092'], topicPrefix: 'prod.', topicPartitions: 12, topicFlushMessages: 0 },
  postgresql: { existingSecret: { name: 'hookpost-pg-app', key: 'uri' }, schema: 'hookpost' },
  dispatcher: { replicas: 12 },
  projector: { replicas: 3 },
  ingress: { enabled: true, className: 'nginx', hosts: [{ host: 'hooks.example.com', paths: [{ path: '/', pathType: 'Prefix' }] }], tls: [{ secretName: 'hooks-tls', hosts: ['hooks.example.com'] }] },
  config: { publicUrl: 'https://hooks.example.com', trustProxy: '10.0.0.0/8', otlpEndpoint: 'http://otel-collector.observability.svc:4318', extra: { DISPATCHER_CONCURRENCY: 512 } },
};

const ofKind = (objects: K8sObject[], kind: string) => objects.filter((object) => object.kind === kind);
const named = (objects: K8sObject[], kind: string, name: string) => {
  const found = objects.find((object) => object.kind === kind && object.metadata.name === name);
  if (!found) throw new Error(`no ${kind} ${name} among ${objects.map((object) => `${object.kind}/${object.metadata.name}`).join(', ')}`);
  return found;
};
const deployment = (objects: K8sObject[], component: Component) => named(objects, 'Deployment', `hp-hookpost-${component}`);
const container = (objects: K8sObject[], component: Component) => deployment(objects, component).spec.template.spec.containers[0];
const envOf = (objects: K8sObject[], component: Component): Record<string, any> => Object.fromEntries(container(objects, component).env.map((entry: { name: string }) => [entry.name, entry]));
const configMap = (objects: K8sObject[]) => named(objects, 'ConfigMap', 'hp-hookpost').data!;

describe('the Helm chart', () => {
  it('passes helm lint --strict, with the least an operator sets and pointed at external brokers', () => {
    for (const values of [minimalValues().values, externalBrokerValues]) {
      const result = lint(values);
      expect(`${result.stdout}${result.stderr}`).toContain('1 chart(s) linted, 0 chart(s) failed');
      expect(result.status).toBe(0);
    }
  });

  describe('with the least an operator sets', () => {
    const { values, secrets } = minimalValues();
    let objects: K8sObject[];
    beforeAll(() => {
      const rendered = render(values);
      expect(rendered.stderr).toBe('');
      objects = rendered.objects;
    });

    it('runs each service from the one image, named by its argument, on the port its settings default to', () => {
      for (const component of COMPONENTS) {
        const main = container(objects, component);
        expect(main.image).toBe('hookpost:0.1.0');
        expect(main.args).toEqual([component]);
        const portSetting = `${component.toUpperCase()}_PORT`;
        const defaultPort = (ENV_SPECS[component][portSetting] as { parse: (raw: undefined) => number }).parse(undefined);
        expect(main.ports).toEqual([{ name: 'http', containerPort: defaultPort, protocol: 'TCP' }]);
        expect(configMap(objects)[portSetting]).toBe(String(defaultPort));
      }
      expect(configMap(objects).HOOKPOST_BIND_HOST).toBe('0.0.0.0');
    });

    it('probes every Deployment: startup and liveness on /healthz, readiness on /readyz', () => {
      for (const component of COMPONENTS) {
        const main = container(objects, component);
        expect(main.startupProbe.httpGet).toEqual({ path: '/healthz', port: 'http' });
        expect(main.livenessProbe.httpGet).toEqual({ path: '/healthz', port: 'http' });
        expect(main.readinessProbe.httpGet).toEqual({ path: '/readyz', port: 'http' });
        // A service listens only once its brokers answer: the startup probe waits minutes before liveness may restart it.
        expect(main.startupProbe.periodSeconds * main.startupProbe.failureThreshold).toBeGreaterThanOrEqual(120);
      }
    });

    it('runs every service as a non-root user with a read-only filesystem, no privilege and no API token', () => {
      for (const component of COMPONENTS) {
        const pod = deployment(objects, component).spec.template.spec;
        expect(pod.securityContext).toMatchObject({ runAsNonRoot: true, seccompProfile: { type: 'RuntimeDefault' } });
        // By number: Kubernetes cannot check that the image's USER node (by name) is not root.
        expect(pod.securityContext.runAsUser).toBeGreaterThan(0);
        expect(pod.automountServiceAccountToken).toBe(false);
        expect(pod.containers[0].securityContext).toEqual({ allowPrivilegeEscalation: false, readOnlyRootFilesystem: true, capabilities: { drop: ['ALL'] } });
      }
    });

    it('gives every service CPU and memory requests and a memory limit', () => {
      for (const component of COMPONENTS) {
        const { resources } = container(objects, component);
        expect(resources.requests).toEqual({ cpu: expect.any(String), memory: expect.stringMatching(/Mi$/) });
        expect(resources.limits.memory).toMatch(/Mi$/);
      }
    });

    it('lets each service drain for 30 s after SIGTERM, and the ones behind a Service first drop out of its endpoints', () => {
      for (const component of COMPONENTS) {
        const pod = deployment(objects, component).spec.template.spec;
        const preStop = pod.containers[0].lifecycle?.preStop;
        if (component === 'dispatcher') {
          // No Service routes to it: nothing to wait for.
          expect(preStop).toBeUndefined();
          expect(pod.terminationGracePeriodSeconds).toBe(30);
        } else {
          expect(preStop.exec.command).toEqual(['sleep', '5']);
          expect(pod.terminationGracePeriodSeconds).toBe(35);
        }
      }
    });

    it('autoscales the gateway on CPU, and leaves its replica count to the autoscaler', () => {
      const [autoscaler, ...others] = ofKind(objects, 'HorizontalPodAutoscaler');
      expect(others).toEqual([]);
      expect(autoscaler!.spec.scaleTargetRef).toEqual({ apiVersion: 'apps/v1', kind: 'Deployment', name: 'hp-hookpost-gateway' });
      expect(autoscaler!.spec).toMatchObject({ minReplicas: 2, maxReplicas: 10 });
      expect(autoscaler!.spec.metrics).toEqual([{ type: 'Resource', resource: { name: 'cpu', target: { type: 'Utilization', averageUtilization: 70 } } }]);
      expect(deployment(objects, 'gateway').spec.replicas).toBeUndefined();
      expect(deployment(objects, 'dispatcher').spec.replicas).toBe(2);
    });

    it('has a disruption budget and a selector of its own for each service', () => {
      for (const component of COMPONENTS) {
        const podLabels = deployment(objects, component).spec.template.metadata.labels;
        const budget = named(objects, 'PodDisruptionBudget', `hp-hookpost-${component}`);
        expect(budget.spec.maxUnavailable).toBe(1);
        expect(budget.spec.selector.matchLabels).toEqual(podLabels);
        expect(podLabels['app.kubernetes.io/component']).toBe(component);
      }
    });

    it('serves the gateway publicly and the projector internally, where PROJECTOR_URL points', () => {
      const gateway = named(objects, 'Service', 'hp-hookpost-gateway');
      expect(gateway.spec.selector).toEqual(deployment(objects, 'gateway').spec.template.metadata.labels);
      expect(gateway.spec.ports).toEqual([{ name: 'http', port: 80, targetPort: 'http', protocol: 'TCP' }]);
      const projector = named(objects, 'Service', 'hp-hookpost-projector');
      expect(projector.spec.type).toBe('ClusterIP');
      expect(projector.spec.selector).toEqual(deployment(objects, 'projector').spec.template.metadata.labels);
      expect(configMap(objects).PROJECTOR_URL).toBe(`http://${projector.metadata.name}:${projector.spec.ports[0].port}`);
      expect(ofKind(objects, 'Service')).toHaveLength(2);
      expect(ofKind(objects, 'Ingress')).toEqual([]);
    });

    it('keeps the keys and the broker passwords in the Secret only: never in the ConfigMap or a plain env value', () => {
      const secret = named(objects, 'Secret', 'hp-hookpost');
      expect(secret.stringData).toEqual({
        HOOKPOST_SECRET_KEYS: values.secrets.masterKeys,
        HOOKPOST_API_KEYS: values.secrets.apiKeys,
        DATABASE_URL: values.postgresql.url,
        REDIS_URL: values.redis.url,
        AMQP_URL: values.rabbitmq.url,
      });
      const everythingButTheSecret = JSON.stringify(objects.filter((object) => object.kind !== 'Secret'));
      for (const secretValue of secrets) expect(everythingButTheSecret).not.toContain(secretValue);
    });

    it('gives each service the secrets it reads and no other (the gateway never holds a broker password it does not use)', () => {
      const fromSecret = (component: Component) =>
        Object.entries(envOf(objects, component))
          .filter(([, entry]) => entry.valueFrom?.secretKeyRef?.name === 'hp-hookpost')
          .map(([name]) => name)
          .sort();
      expect(fromSecret('gateway')).toEqual(['HOOKPOST_API_KEYS', 'HOOKPOST_APP_API_KEYS', 'HOOKPOST_METRICS_TOKEN', 'HOOKPOST_SECRET_KEYS', 'REDIS_URL']);
      expect(fromSecret('dispatcher')).toEqual(['AMQP_URL', 'HOOKPOST_API_KEYS', 'HOOKPOST_METRICS_TOKEN', 'HOOKPOST_SECRET_KEYS', 'REDIS_URL']);
      expect(fromSecret('projector')).toEqual(['DATABASE_URL', 'HOOKPOST_API_KEYS', 'HOOKPOST_APP_API_KEYS', 'HOOKPOST_METRICS_TOKEN', 'HOOKPOST_SECRET_KEYS', 'REDIS_URL']);
      // ...and each of them is a setting that service reads.
      for (const component of COMPONENTS) for (const name of fromSecret(component)) expect(Object.keys(ENV_SPECS[component])).toContain(name);
    });

    it('sets only settings some service reads', () => {
      const known = new Set(COMPONENTS.flatMap((component) => Object.keys(ENV_SPECS[component])));
      expect(Object.keys(configMap(objects)).filter((name) => !known.has(name))).toEqual([]);
    });
  });

  describe('pointed at external brokers and a Secret of the operator', () => {
    let objects: K8sObject[];
    beforeAll(() => {
      const rendered = render(externalBrokerValues);
      expect(rendered.stderr).toBe('');
      objects = rendered.objects;
    });

    it('renders no Secret and reads keys and URLs from the operator\'s, the database URL from CloudNativePG\'s', () => {
      expect(ofKind(objects, 'Secret')).toEqual([]);
      const projector = envOf(objects, 'projector');
      expect(projector.DATABASE_URL.valueFrom.secretKeyRef).toEqual({ name: 'hookpost-pg-app', key: 'uri' });
      expect(projector.REDIS_URL.valueFrom.secretKeyRef).toEqual({ name: 'hookpost-keys', key: 'REDIS_URL' });
      expect(projector.HOOKPOST_SECRET_KEYS.valueFrom.secretKeyRef).toEqual({ name: 'hookpost-keys', key: 'HOOKPOST_SECRET_KEYS' });
      expect(envOf(objects, 'dispatcher').AMQP_URL.valueFrom.secretKeyRef).toEqual({ name: 'hookpost-keys', key: 'AMQP_URL' });
      // Without a Secret of the chart's, there is nothing of it to checksum.
      expect(deployment(objects, 'gateway').spec.template.metadata.annotations['checksum/secret']).toBeUndefined();
    });

    it('puts the broker addresses and settings in the ConfigMap', () => {
      expect(configMap(objects)).toMatchObject({
        KAFKA_BROKERS: 'events-kafka-bootstrap.kafka.svc:9092',
        HOOKPOST_TOPIC_PREFIX: 'prod.',
        HOOKPOST_TOPIC_PARTITIONS: '12',
        HOOKPOST_TOPIC_FLUSH_MESSAGES: '0',
        HOOKPOST_DB_SCHEMA: 'hookpost',
        HOOKPOST_PUBLIC_URL: 'https://hooks.example.com',
        HOOKPOST_TRUST_PROXY: '10.0.0.0/8',
        OTEL_EXPORTER_OTLP_ENDPOINT: 'http://otel-collector.observability.svc:4318',
        DISPATCHER_CONCURRENCY: '512',
      });
      expect(deployment(objects, 'dispatcher').spec.replicas).toBe(12);
    });

    it('routes the ingress to the gateway', () => {
      const [ingress] = ofKind(objects, 'Ingress');
      expect(ingress!.spec.ingressClassName).toBe('nginx');
      expect(ingress!.spec.rules).toEqual([
        { host: 'hooks.example.com', http: { paths: [{ path: '/', pathType: 'Prefix', backend: { service: { name: 'hp-hookpost-gateway', port: { name: 'http' } } } }] } },
      ]);
    });
  });

  describe('refuses to render', () => {
    const refusal = (values: object) => {
      const result = render(values);
      expect(result.status).not.toBe(0);
      return result.stderr;
    };

    it('without a master key, saying how to make one and never rendering a default', () => {
      const { values } = minimalValues();
      const stderr = refusal({ ...values, secrets: { ...values.secrets, masterKeys: '' } });
      expect(stderr).toContain('secrets.masterKeys is required (HOOKPOST_SECRET_KEYS; no default is ever rendered): make one once with k1:$(openssl rand -base64 32)');
      expect(stderr).toContain('or set existingSecret');
    });

    it('a master key that is not <id>:<32 bytes>, without repeating it', () => {
      const { values } = minimalValues();
      const short = `k1:${randomBytes(16).toString('base64')}`;
      const stderr = refusal({ ...values, secrets: { ...values.secrets, masterKeys: `${masterKey()},${short}` } });
      expect(stderr).toContain('secrets.masterKeys: entry 2 is not <key id>:<base64 of 32 bytes>');
      expect(stderr).not.toContain(short.slice(3));
    });

    it('without API keys, Kafka brokers or a broker URL', () => {
      const { values } = minimalValues();
      expect(refusal({ ...values, secrets: { ...values.secrets, apiKeys: '' } })).toContain('secrets.apiKeys is required');
      expect(refusal({ ...values, secrets: { ...values.secrets, apiKeys: 'too-short' } })).toContain('secrets.apiKeys: key 1 is shorter than 16 characters');
      expect(refusal({ ...values, kafka: { brokers: [] } })).toContain('kafka.brokers is required');
      expect(refusal({ ...values, rabbitmq: { url: '' } })).toContain('rabbitmq.url is required (AMQP_URL');
    });

    it('more dispatchers or projectors than Kafka partitions, and renders them once the partitions are there', () => {
      const { values } = minimalValues();
      expect(refusal({ ...values, dispatcher: { replicas: 9 } })).toContain('dispatcher.replicas (9) is more than kafka.topicPartitions (8)');
      expect(refusal({ ...values, projector: { replicas: 9 } })).toContain('projector.replicas (9) is more than kafka.topicPartitions (8)');
      const rendered = render({ ...values, kafka: { ...values.kafka, topicPartitions: 16 }, dispatcher: { replicas: 9 } });
      expect(rendered.status).toBe(0);
      expect(deployment(rendered.objects, 'dispatcher').spec.replicas).toBe(9);
    });

    it('a misspelt value (values.schema.json)', () => {
      const { values } = minimalValues();
      expect(refusal({ ...values, gateway: { autoscaling: { maxReplica: 3 } } })).toContain("additional properties 'maxReplica' not allowed");
    });
  });
});
