// The Helm chart (helm/roomcast), rendered by the real helm binary (scripts/helm.sh fetches
// it and sets HELM): every object of every scenario against the Kubernetes schemas
// (kubernetes-models, offline), then what the chart promises and the schemas cannot say
// (they accept unknown fields, so every field relied on is asserted here): the values
// against the README's settings table, the secret wiring, the drain arithmetic, the
// probes, the sticky sessions, the security context, and the values that must fail.
//
// Node 18.19+ (no API newer than that): cd tests && node --test helm/
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { parse, parseAllDocuments, parseDocument, isMap } from "yaml";
import * as core from "kubernetes-models/v1";
import * as apps from "kubernetes-models/apps/v1";
import * as autoscaling from "kubernetes-models/autoscaling/v2";
import * as policy from "kubernetes-models/policy/v1";
import * as networking from "kubernetes-models/networking.k8s.io/v1";
import * as monitoring from "@kubernetes-models/prometheus-operator/monitoring.coreos.com/v1";

const here = path.dirname(fileURLToPath(import.meta.url));
const repo = path.resolve(here, "../..");
const chart = path.join(repo, "helm/roomcast");
const HELM =
  process.env.HELM ||
  path.join(process.env.XDG_CACHE_HOME || path.join(os.homedir(), ".cache"), "roomcast/helm-v3.18.0/helm");
const RELEASE = "rc";
const NAMESPACE = "realtime";
const FULLNAME = "rc-roomcast";

// Settings the chart knows ahead of roomcastd: roomcastd reads them from the Redis
// (scale-out) issue on, and they are not in the README's settings table yet. When
// roomcastd has one, its row goes into the table and its entry out of this list (the
// test fails while it is in both). Every other chart setting must be a row of the table.
const AHEAD_OF_ROOMCASTD = {
};

// The chart's defaults that differ from roomcastd's, on purpose.
const CHART_DEFAULTS = {
  ROOMCAST_HOST: "::", // every address of the pod, both families (unset would mean the same in a pod)
  NODE_ENV: "production", // the chart is for clusters: API key, browser secret and CORS enforced
};

// Secrets that make the production defaults render (a Secret the operator made).
const WITH_SECRETS = {
  secrets: {
    existingSecret: "roomcast-secrets",
    existingSecretKeys: { INTERNAL_API_KEY: "INTERNAL_API_KEY", JWT_SECRET: "JWT_SECRET" },
  },
};

if (!fs.existsSync(HELM)) {
  throw new Error(`no helm at ${HELM}: run scripts/helm.sh (it fetches helm), or set HELM`);
}

// --- helm ----------------------------------------------------------------------------

const scratch = fs.mkdtempSync(path.join(os.tmpdir(), "roomcast-helm-"));
process.on("exit", () => fs.rmSync(scratch, { recursive: true, force: true }));
let scratchFiles = 0;

// Values objects go to helm as files (-f), like an operator's: JSON is YAML.
function valuesArgs(values) {
  const args = [];
  for (const v of values) {
    if (typeof v === "string") {
      args.push("-f", path.isAbsolute(v) ? v : path.join(chart, v));
    } else {
      const file = path.join(scratch, `values-${scratchFiles++}.json`);
      fs.writeFileSync(file, JSON.stringify(v));
      args.push("-f", file);
    }
  }
  return args;
}

function helm(args) {
  const result = spawnSync(HELM, args, {
    encoding: "utf8",
    env: {
      ...process.env,
      HELM_CACHE_HOME: path.join(scratch, "cache"),
      HELM_CONFIG_HOME: path.join(scratch, "config"),
      HELM_DATA_HOME: path.join(scratch, "data"),
    },
  });
  if (result.error) throw result.error;
  return result;
}

// `helm template`, its objects parsed. values: chart-relative files and value objects, in order.
function template(values = [], { kubeVersion, extra = [], dir = chart } = {}) {
  const args = ["template", RELEASE, dir, "--namespace", NAMESPACE, ...valuesArgs(values), ...extra];
  if (kubeVersion) args.push("--kube-version", kubeVersion);
  const result = helm(args);
  if (result.status !== 0) {
    throw new Error(`helm template failed:\n${result.stderr}`);
  }
  return { text: result.stdout, stderr: result.stderr, objects: parseObjects(result.stdout) };
}

function parseObjects(text) {
  const objects = [];
  for (const doc of parseAllDocuments(text)) {
    assert.deepEqual(doc.errors, [], "helm template printed YAML that does not parse");
    const object = doc.toJS();
    if (object) objects.push(object);
  }
  return objects;
}

function render(...values) {
  return template(values).objects;
}

function all(objects, kind) {
  return objects.filter((o) => o.kind === kind);
}

function one(objects, kind, name) {
  const found = all(objects, kind).filter((o) => name === undefined || o.metadata.name === name);
  assert.equal(found.length, 1, `one ${kind}${name ? " " + name : ""} expected, got ${found.length}`);
  return found[0];
}

function container(objects) {
  const pod = one(objects, "Deployment").spec.template.spec;
  const roomcastd = pod.containers.find((c) => c.name === "roomcastd");
  assert.ok(roomcastd, "no roomcastd container");
  return roomcastd;
}

// The settings ConfigMap (the one the container's envFrom names).
function settings(objects) {
  const ref = container(objects).envFrom[0].configMapRef.name;
  return one(objects, "ConfigMap", ref).data;
}

// --- the Kubernetes schemas ------------------------------------------------------------

const MODELS = {
  "v1/ConfigMap": core.ConfigMap,
  "v1/Secret": core.Secret,
  "v1/Service": core.Service,
  "v1/ServiceAccount": core.ServiceAccount,
  "apps/v1/Deployment": apps.Deployment,
  "autoscaling/v2/HorizontalPodAutoscaler": autoscaling.HorizontalPodAutoscaler,
  "policy/v1/PodDisruptionBudget": policy.PodDisruptionBudget,
  "networking.k8s.io/v1/Ingress": networking.Ingress,
  "networking.k8s.io/v1/NetworkPolicy": networking.NetworkPolicy,
  "monitoring.coreos.com/v1/ServiceMonitor": monitoring.ServiceMonitor,
};

function validate(object) {
  const id = `${object.apiVersion}/${object.kind}`;
  const Model = MODELS[id];
  assert.ok(Model, `${id} (${object.metadata?.name}) has no schema here: add its model to MODELS`);
  try {
    new Model(object).validate();
  } catch (error) {
    assert.fail(`${id} ${object.metadata?.name} does not validate: ${error.message}`);
  }
}

// --- the README's settings table and the chart's values ----------------------------------

// Rows `| `ENV` | `--flag` | default | secret | meaning |`, as the C++ settings test reads them.
function readmeSettings() {
  const readme = fs.readFileSync(path.join(repo, "README.md"), "utf8");
  const header = "| env var | flag | default | secret | meaning |";
  const start = readme.indexOf(header);
  assert.notEqual(start, -1, "README.md has no settings table");
  const rows = new Map();
  const lines = readme.slice(start).split("\n").slice(2);
  const row = /^\| `(\w+)` \| `--(\w+)` \| (`[^`]*`|unset) \| (yes)? *\|.*\|$/;
  for (const line of lines) {
    if (!line.startsWith("|")) break;
    const match = row.exec(line);
    if (!match) {
      assert.ok(line.startsWith("| `HOSTNAME` | |"), `not a settings row: ${line}`);
      continue;
    }
    assert.ok(!rows.has(match[1]), `${match[1]} twice in README.md`);
    rows.set(match[1], {
      flag: match[2],
      fallback: match[3] === "unset" ? "" : match[3].slice(1, -1),
      secret: match[4] === "yes",
    });
  }
  assert.ok(rows.size > 30, `only ${rows.size} settings rows in README.md`);
  return rows;
}

const chartValues = parse(fs.readFileSync(path.join(chart, "values.yaml"), "utf8"));
const schema = JSON.parse(fs.readFileSync(path.join(chart, "values.schema.json"), "utf8"));
const chartYaml = parse(fs.readFileSync(path.join(chart, "Chart.yaml"), "utf8"));

function sorted(iterable) {
  return [...iterable].sort();
}

function difference(a, b) {
  const other = new Set(b);
  return sorted([...a].filter((x) => !other.has(x)));
}

describe("the chart's settings are the README's settings table", () => {
  const readme = readmeSettings();
  const expectedConfig = new Set();
  const expectedSecrets = new Set();
  for (const [env, row] of readme) (row.secret ? expectedSecrets : expectedConfig).add(env);
  for (const [env, ahead] of Object.entries(AHEAD_OF_ROOMCASTD)) {
    (ahead.secret ? expectedSecrets : expectedConfig).add(env);
  }

  test("the allowlist of settings ahead of roomcastd holds only settings the README lacks", () => {
    for (const env of Object.keys(AHEAD_OF_ROOMCASTD)) {
      assert.ok(
        !readme.has(env),
        `${env} is in README.md's table now: remove it from AHEAD_OF_ROOMCASTD in tests/helm/chart.test.js`,
      );
    }
  });

  test("every non-secret setting is a key of config, and config has nothing else", () => {
    const config = Object.keys(chartValues.config);
    const missing = difference(expectedConfig, config);
    const extra = difference(config, expectedConfig);
    assert.deepEqual(missing, [], `README settings missing from values.yaml config: ${missing.join(", ")}`);
    assert.deepEqual(
      extra,
      [],
      `config keys that are not README settings (nor AHEAD_OF_ROOMCASTD): ${extra.join(", ")}` +
        (extra.some((e) => expectedSecrets.has(e)) ? " (secret settings belong under secrets)" : ""),
    );
  });

  test("every secret setting is under secrets (values, existingSecretKeys, existingSecretNames, schema)", () => {
    const lists = {
      "secrets.values": Object.keys(chartValues.secrets.values),
      "secrets.existingSecretKeys": Object.keys(chartValues.secrets.existingSecretKeys),
      "secrets.existingSecretNames": Object.keys(chartValues.secrets.existingSecretNames),
      "schema secretValues": Object.keys(schema.definitions.secretValues.properties),
      "schema secretNames": Object.keys(schema.definitions.secretNames.properties),
    };
    for (const [where, keys] of Object.entries(lists)) {
      assert.deepEqual(sorted(keys), sorted(expectedSecrets), `${where} against the README's secret rows`);
    }
    for (const [where, values] of Object.entries({
      "secrets.values": chartValues.secrets.values,
      "secrets.existingSecretKeys": chartValues.secrets.existingSecretKeys,
    })) {
      for (const [env, value] of Object.entries(values)) {
        assert.equal(value, "", `${where}.${env}: no secret is configured by default`);
      }
    }
  });

  test("the schema types every config key, and rejects unknown ones", () => {
    const config = schema.properties.config;
    assert.equal(config.additionalProperties, false);
    assert.equal(schema.additionalProperties, false, "unknown top-level keys must fail too");
    assert.deepEqual(sorted(Object.keys(config.properties)), sorted(expectedConfig));
  });

  test("the templates wire every secret setting: a Secret key and a secretKeyRef each", () => {
    const values = {
      secrets: {
        create: true,
        values: Object.fromEntries(sorted(expectedSecrets).map((env) => [env, `value-of-${env}`])),
      },
    };
    const objects = render(values);
    const secret = one(objects, "Secret", FULLNAME);
    assert.deepEqual(sorted(Object.keys(secret.data)), sorted(expectedSecrets));
    for (const [env, data] of Object.entries(secret.data)) {
      assert.equal(Buffer.from(data, "base64").toString(), `value-of-${env}`);
    }
    const env = container(objects).env;
    assert.deepEqual(sorted(env.map((e) => e.name)), sorted(expectedSecrets));
    for (const e of env) {
      assert.deepEqual(e.valueFrom, { secretKeyRef: { name: FULLNAME, key: e.name } }, e.name);
    }
  });

  test("the ConfigMap holds every config key and nothing secret; defaults are roomcastd's", () => {
    const data = settings(render(WITH_SECRETS));
    assert.deepEqual(sorted(Object.keys(data)), sorted(expectedConfig));
    for (const env of expectedSecrets) assert.ok(!(env in data), `${env} in the ConfigMap`);
    assert.ok(!("HOSTNAME" in data), "HOSTNAME is no chart value");
    for (const env of expectedConfig) {
      const fallback = env in CHART_DEFAULTS
        ? CHART_DEFAULTS[env]
        : readme.has(env)
          ? readme.get(env).fallback
          : AHEAD_OF_ROOMCASTD[env].fallback;
      assert.equal(data[env], fallback, `${env}: the chart's default against the README's`);
    }
  });

  test("the chart's own defaults differ from the README's only where CHART_DEFAULTS says", () => {
    for (const [env, value] of Object.entries(CHART_DEFAULTS)) {
      assert.ok(readme.has(env), `${env}: not a README setting`);
      assert.notEqual(readme.get(env).fallback, value, `${env}: same as roomcastd's, drop it from CHART_DEFAULTS`);
      assert.equal(String(chartValues.config[env]), value);
    }
  });
});

describe("the ConfigMap's values are what roomcastd parses", () => {
  test("numbers never get an exponent, from values.yaml, a values file or --set", () => {
    const fromDefaults = settings(render(WITH_SECRETS));
    assert.equal(fromDefaults.ROOMCAST_SEND_QUEUE_BYTES, "8388608");
    assert.equal(fromDefaults.ROOMCAST_MAX_HTTP_BUFFER_SIZE, "1000000");
    assert.equal(fromDefaults.ROOMCAST_IDEMPOTENCY_WINDOW_MS, "300000");
    const fromFile = settings(
      render(WITH_SECRETS, { config: { ROOMCAST_SEND_QUEUE_BYTES: 16777216, ROOMCAST_MAX_EMIT_BYTES: 2000000 } }),
    );
    assert.equal(fromFile.ROOMCAST_SEND_QUEUE_BYTES, "16777216");
    assert.equal(fromFile.ROOMCAST_MAX_EMIT_BYTES, "2000000");
    const fromSet = settings(
      template([WITH_SECRETS], { extra: ["--set", "config.ROOMCAST_MAX_BATCH_SIZE=1234567"] }).objects,
    );
    assert.equal(fromSet.ROOMCAST_MAX_BATCH_SIZE, "1234567");
  });

  test("booleans are true/false, lists are joined with commas", () => {
    const data = settings(
      render(WITH_SECRETS, {
        config: {
          ROOMCAST_ENABLE_CLIENT_BROADCAST: true,
          CORS_ORIGIN: ["https://a.example", "https://b.example"],
          ROOMCAST_NAMESPACES: ["/", "/chat"],
          ROOMCAST_TRUSTED_PROXIES: "10.0.0.1, 10.0.0.2",
        },
      }),
    );
    assert.equal(data.ROOMCAST_ENABLE_CLIENT_BROADCAST, "true");
    assert.equal(data.ROOMCAST_INSECURE, "false");
    assert.equal(data.CORS_ORIGIN, "https://a.example,https://b.example");
    assert.equal(data.ROOMCAST_NAMESPACES, "/,/chat");
    assert.equal(data.ROOMCAST_TRUSTED_PROXIES, "10.0.0.1, 10.0.0.2");
  });
});

// --- every scenario ----------------------------------------------------------------------

const scenarios = fs
  .readdirSync(path.join(chart, "ci"))
  .filter((f) => f.endsWith("-values.yaml"))
  .sort();

test("the scenarios are there: single node, cluster with Redis, TLS, PostgreSQL", () => {
  assert.deepEqual(scenarios, [
    "cluster-redis-values.yaml",
    "postgres-values.yaml",
    "single-values.yaml",
    "tls-values.yaml",
  ]);
});

function merged(file) {
  // The scenario's values over the chart's (deep for maps, replaced for the rest), as helm does.
  const merge = (base, over) => {
    if (over === null || typeof over !== "object" || Array.isArray(over)) return over;
    const out = { ...base };
    for (const [k, v] of Object.entries(over)) {
      out[k] = base && typeof base[k] === "object" && !Array.isArray(base[k]) ? merge(base[k], v) : v;
    }
    return out;
  };
  return merge(chartValues, parse(fs.readFileSync(path.join(chart, "ci", file), "utf8")) || {});
}

function checkDrain(objects, values) {
  const pod = one(objects, "Deployment").spec.template.spec;
  const data = settings(objects);
  const preStop = container(objects).lifecycle?.preStop;
  assert.ok(preStop, "no preStop pause: endpoints would still send traffic after SIGTERM");
  const pause = preStop.sleep ? preStop.sleep.seconds : Number(preStop.exec.command[1]);
  if (!preStop.sleep) assert.deepEqual(preStop.exec.command, ["sleep", String(pause)]);
  assert.equal(pause, values.drain.preStopSeconds);
  assert.ok(pause > 0);
  const graceMs = Number(data.ROOMCAST_DRAIN_GRACE_MS);
  const deadlineMs = Number(data.ROOMCAST_DRAIN_DEADLINE_MS);
  assert.ok(graceMs < deadlineMs, `drain grace ${graceMs} ms must be inside the deadline ${deadlineMs} ms`);
  const needed = pause + Math.ceil(deadlineMs / 1000) + values.drain.marginSeconds;
  assert.ok(values.drain.marginSeconds >= 1, "a margin of at least a second");
  assert.ok(
    pod.terminationGracePeriodSeconds >= needed,
    `terminationGracePeriodSeconds ${pod.terminationGracePeriodSeconds} < preStop ${pause} + ` +
      `deadline ${deadlineMs} ms + margin ${values.drain.marginSeconds}`,
  );
  if (values.terminationGracePeriodSeconds == null) {
    assert.equal(pod.terminationGracePeriodSeconds, needed, "computed when not given");
  }
}

function checkWorkload(objects, values) {
  const deployment = one(objects, "Deployment");
  const spec = deployment.spec;
  const pod = spec.template.spec;
  const roomcastd = container(objects);
  const data = settings(objects);
  const selector = spec.selector.matchLabels;

  // Rollout: a new pod is ready before an old one drains; pods roll when their config changes.
  assert.equal(spec.strategy.type, "RollingUpdate");
  assert.equal(spec.strategy.rollingUpdate.maxUnavailable, 0);
  assert.match(spec.template.metadata.annotations["checksum/config"], /^[0-9a-f]{64}$/);
  for (const [k, v] of Object.entries(selector)) assert.equal(spec.template.metadata.labels[k], v);
  if (values.autoscaling.enabled) assert.ok(!("replicas" in spec), "the HPA owns replicas");
  else assert.equal(spec.replicas, values.replicaCount);

  // Image and command.
  const tag = values.image.tag || chartYaml.appVersion;
  assert.equal(roomcastd.image, `roomcast/roomcastd:${tag}`);
  assert.deepEqual(roomcastd.command, ["/usr/local/bin/roomcastd"]);

  // Non-root, read-only, nothing extra.
  assert.equal(pod.securityContext.runAsNonRoot, true);
  assert.equal(pod.securityContext.runAsUser, 10001);
  assert.equal(pod.securityContext.seccompProfile.type, "RuntimeDefault");
  const sc = roomcastd.securityContext;
  assert.equal(sc.runAsNonRoot, true);
  assert.equal(sc.runAsUser, 10001);
  assert.equal(sc.readOnlyRootFilesystem, true);
  assert.equal(sc.allowPrivilegeEscalation, false);
  assert.equal(sc.privileged, false);
  assert.deepEqual(sc.capabilities, { drop: ["ALL"] });
  assert.equal(sc.seccompProfile.type, "RuntimeDefault");
  const tmp = pod.volumes.find((v) => v.name === "tmp");
  assert.ok(tmp && tmp.emptyDir, "an emptyDir for /tmp");
  assert.ok(roomcastd.volumeMounts.some((m) => m.name === "tmp" && m.mountPath === "/tmp"));

  // Resources requested (scheduling, and the HPA's utilisation).
  assert.ok(roomcastd.resources.requests.cpu, "a CPU request");
  assert.ok(roomcastd.resources.requests.memory, "a memory request");

  // No API token, no service links.
  assert.equal(pod.automountServiceAccountToken, false);
  assert.equal(pod.enableServiceLinks, false);
  const account = one(objects, "ServiceAccount");
  assert.equal(pod.serviceAccountName, account.metadata.name);
  assert.equal(account.automountServiceAccountToken, false);

  // Ports, probes.
  const ports = Object.fromEntries(roomcastd.ports.map((p) => [p.name, p.containerPort]));
  assert.deepEqual(ports, { http: Number(data.PORT), grpc: Number(data.GRPC_PORT) });
  assert.deepEqual(roomcastd.startupProbe.httpGet, { path: "/healthz", port: "http" });
  assert.deepEqual(roomcastd.livenessProbe.httpGet, { path: "/healthz", port: "http" });
  assert.deepEqual(roomcastd.readinessProbe.httpGet, { path: "/readyz", port: "http" });
  assert.ok(
    roomcastd.startupProbe.periodSeconds * roomcastd.startupProbe.failureThreshold >= 30,
    "the startup probe gives roomcastd time to start",
  );
  assert.equal(data.ROOMCAST_HOST, "::");

  // Settings: the ConfigMap through envFrom, secrets only through secretKeyRef.
  const secretNames = Object.keys(chartValues.secrets.values);
  for (const e of roomcastd.env || []) {
    assert.notEqual(e.name, "HOSTNAME");
    if (secretNames.includes(e.name)) {
      assert.ok(e.valueFrom?.secretKeyRef, `${e.name} must come from a Secret`);
      assert.ok(!("value" in e), `${e.name} as a plain value`);
    }
  }
  for (const cm of all(objects, "ConfigMap")) {
    for (const env of secretNames) assert.ok(!(env in (cm.data || {})), `${env} in ConfigMap ${cm.metadata.name}`);
  }

  // Topology spread over zones and hosts, by the pods' own labels.
  const spread = Object.fromEntries(pod.topologySpreadConstraints.map((t) => [t.topologyKey, t]));
  for (const key of ["topology.kubernetes.io/zone", "kubernetes.io/hostname"]) {
    assert.ok(spread[key], `no topology spread over ${key}`);
    assert.deepEqual(spread[key].labelSelector.matchLabels, selector);
    assert.ok(["ScheduleAnyway", "DoNotSchedule"].includes(spread[key].whenUnsatisfiable));
    assert.deepEqual(spread[key].matchLabelKeys, ["pod-template-hash"]);
  }

  // The Service: HTTP and gRPC to the named container ports.
  const service = one(objects, "Service");
  assert.deepEqual(service.spec.selector, selector);
  const servicePorts = Object.fromEntries(service.spec.ports.map((p) => [p.name, p]));
  assert.equal(servicePorts.http.targetPort, "http");
  assert.equal(servicePorts.grpc.targetPort, "grpc");
  assert.equal(servicePorts.http.port, values.service.ports.http);
  assert.equal(servicePorts.grpc.port, values.service.ports.grpc);

  // The PodDisruptionBudget selects the same pods.
  if (values.pdb.create) assert.deepEqual(one(objects, "PodDisruptionBudget").spec.selector.matchLabels, selector);

  checkDrain(objects, values);
}

// Each secretKeyRef names a Secret the operator has (existingSecret / existingSecretNames,
// with the key of existingSecretKeys) or the chart's own, which then holds that key.
function checkSecretWiring(objects, values) {
  const s = values.secrets;
  const refs = {};
  for (const e of container(objects).env || []) {
    if (e.valueFrom?.secretKeyRef) refs[e.name] = e.valueFrom.secretKeyRef;
  }
  const expected = {};
  for (const env of Object.keys(s.values)) {
    const name = s.existingSecretNames[env] || s.existingSecret;
    if (s.existingSecretKeys[env] && name) expected[env] = { name, key: s.existingSecretKeys[env] };
    else if (s.create && s.values[env]) expected[env] = { name: FULLNAME, key: env };
  }
  assert.deepEqual(refs, expected);
  const secrets = all(objects, "Secret");
  if (s.create) {
    const secret = one(objects, "Secret", FULLNAME);
    for (const [env, ref] of Object.entries(refs)) {
      if (ref.name === FULLNAME) {
        assert.equal(Buffer.from(secret.data[ref.key], "base64").toString(), s.values[env]);
      }
    }
    assert.match(one(objects, "Deployment").spec.template.metadata.annotations["checksum/secret"], /^[0-9a-f]{64}$/);
  } else {
    assert.deepEqual(secrets, [], "no Secret unless secrets.create");
  }
  return refs;
}

for (const file of scenarios) {
  describe(`ci/${file}`, () => {
    const values = merged(file);
    const { objects, stderr } = template([`ci/${file}`]);

    test("renders without a warning", () => {
      assert.equal(stderr, "");
    });

    test("every object validates against the Kubernetes schemas", () => {
      assert.ok(objects.length >= 5);
      for (const object of objects) {
        validate(object);
        assert.equal(object.metadata.namespace, object.kind === "ServiceMonitor" && values.serviceMonitor.namespace
          ? values.serviceMonitor.namespace
          : NAMESPACE);
        assert.equal(object.metadata.labels["app.kubernetes.io/instance"], RELEASE);
      }
    });

    test("the objects the values ask for, and no others", () => {
      const kinds = sorted(new Set(objects.map((o) => o.kind)));
      const expected = ["ConfigMap", "Deployment", "Service", "ServiceAccount"];
      if (values.pdb.create) expected.push("PodDisruptionBudget");
      if (values.secrets.create) expected.push("Secret");
      if (values.ingress.enabled) expected.push("Ingress");
      if (values.autoscaling.enabled) expected.push("HorizontalPodAutoscaler");
      if (values.serviceMonitor.enabled) expected.push("ServiceMonitor");
      if (values.networkPolicy.enabled) expected.push("NetworkPolicy");
      assert.deepEqual(kinds, sorted(expected));
    });

    test("workload: rollout, security, probes, ports, spread, drain arithmetic", () => {
      checkWorkload(objects, values);
    });

    test("secrets: from existing Secrets or the chart's, never plain", () => {
      checkSecretWiring(objects, values);
    });

    if (values.ingress.enabled) {
      test("ingress: Socket.IO path, WebSocket timeouts, sticky cookie", () => {
        const ingress = one(objects, "Ingress");
        const a = ingress.metadata.annotations;
        assert.equal(ingress.spec.ingressClassName, "nginx");
        assert.equal(a["nginx.ingress.kubernetes.io/proxy-read-timeout"], "3600");
        assert.equal(a["nginx.ingress.kubernetes.io/proxy-send-timeout"], "3600");
        assert.equal(a["nginx.ingress.kubernetes.io/proxy-body-size"], settings(objects).ROOMCAST_MAX_HTTP_BUFFER_SIZE);
        assert.equal(a["nginx.ingress.kubernetes.io/affinity"], "cookie");
        assert.equal(a["nginx.ingress.kubernetes.io/affinity-mode"], "persistent");
        assert.equal(a["nginx.ingress.kubernetes.io/session-cookie-name"], "roomcast_route");
        const paths = ingress.spec.rules.flatMap((r) => r.http.paths);
        assert.deepEqual(paths.map((p) => [p.path, p.pathType]), [["/socket.io", "Prefix"]]);
        for (const p of paths) assert.deepEqual(p.backend.service, { name: FULLNAME, port: { name: "http" } });
        assert.deepEqual(ingress.spec.rules.map((r) => r.host), values.ingress.hosts);
      });
    }
  });
}

describe("scenario specifics", () => {
  test("single: existing Secret keys, one pod, no broker needed", () => {
    const objects = render("ci/single-values.yaml");
    const refs = checkSecretWiring(objects, merged("single-values.yaml"));
    assert.deepEqual(refs, {
      INTERNAL_API_KEY: { name: "roomcast-secrets", key: "INTERNAL_API_KEY" },
      JWT_SECRET: { name: "roomcast-secrets", key: "JWT_SECRET" },
    });
    assert.equal(one(objects, "Deployment").spec.replicas, 1);
  });

  test("cluster: REDIS_URL from the Secret, HPA with behavior, ServiceMonitor, NetworkPolicy", () => {
    const objects = render("ci/cluster-redis-values.yaml");
    const env = container(objects).env;
    assert.deepEqual(env.find((e) => e.name === "REDIS_URL").valueFrom.secretKeyRef, {
      name: "roomcast-secrets",
      key: "redis-url",
    });
    const data = settings(objects);
    assert.equal(data.ROOMCAST_REDIS_PREFIX, "roomcast");
    assert.equal(data.ROOMCAST_SOCKETIO_REDIS_COMPAT, "true");

    const hpa = one(objects, "HorizontalPodAutoscaler");
    assert.deepEqual(hpa.spec.scaleTargetRef, { apiVersion: "apps/v1", kind: "Deployment", name: FULLNAME });
    assert.equal(hpa.spec.minReplicas, 3);
    assert.equal(hpa.spec.maxReplicas, 12);
    assert.deepEqual(
      hpa.spec.metrics.map((m) => [m.resource.name, m.resource.target.averageUtilization]),
      [["cpu", 60], ["memory", 75]],
    );
    assert.equal(hpa.spec.behavior.scaleDown.stabilizationWindowSeconds, 300);
    assert.deepEqual(hpa.spec.behavior.scaleDown.policies, [{ type: "Pods", value: 1, periodSeconds: 60 }]);
    assert.ok(hpa.spec.behavior.scaleUp.policies.length > 0);

    const pdb = one(objects, "PodDisruptionBudget");
    assert.equal(pdb.spec.minAvailable, 2);
    assert.ok(!("maxUnavailable" in pdb.spec));

    const monitor = one(objects, "ServiceMonitor");
    assert.deepEqual(monitor.spec.endpoints.map((e) => [e.port, e.path]), [["http", "/metrics"]]);
    assert.equal(monitor.metadata.labels.release, "kube-prometheus-stack");
    const service = one(objects, "Service");
    for (const [k, v] of Object.entries(monitor.spec.selector.matchLabels)) assert.equal(service.metadata.labels[k], v);
    assert.deepEqual(monitor.spec.namespaceSelector.matchNames, [NAMESPACE]);

    const policy = one(objects, "NetworkPolicy");
    assert.deepEqual(policy.spec.podSelector.matchLabels, one(objects, "Deployment").spec.selector.matchLabels);
    assert.deepEqual(policy.spec.policyTypes, ["Ingress", "Egress"]);
    const [http, grpc] = policy.spec.ingress;
    assert.deepEqual(http.ports, [{ port: "http", protocol: "TCP" }]);
    assert.deepEqual(http.from[0], { podSelector: { matchLabels: { [`${FULLNAME}-client`]: "true" } } });
    assert.deepEqual(http.from.slice(1), merged("cluster-redis-values.yaml").networkPolicy.httpFrom);
    assert.deepEqual(grpc.ports, [{ port: "grpc", protocol: "TCP" }]);
    assert.deepEqual(grpc.from, [{ podSelector: { matchLabels: { [`${FULLNAME}-client`]: "true" } } }]);
    assert.deepEqual(policy.spec.egress[0].ports, [{ port: 53, protocol: "UDP" }, { port: 53, protocol: "TCP" }]);
    assert.equal(policy.spec.egress[1].ports[0].port, 6379);

    // Zones as asked (ScheduleAnyway), hosts strictly.
    const spread = Object.fromEntries(
      one(objects, "Deployment").spec.template.spec.topologySpreadConstraints.map((t) => [t.topologyKey, t]),
    );
    assert.equal(spread["kubernetes.io/hostname"].whenUnsatisfiable, "DoNotSchedule");
    assert.equal(spread["topology.kubernetes.io/zone"].whenUnsatisfiable, "ScheduleAnyway");

    // A 30 s deadline and a 10 s preStop: 10 + 30 + 5.
    assert.equal(one(objects, "Deployment").spec.template.spec.terminationGracePeriodSeconds, 45);
  });

  test("tls: TLS hosts, Secure SameSite=None cookie, user annotations kept, files mounted", () => {
    const objects = render("ci/tls-values.yaml");
    const ingress = one(objects, "Ingress");
    assert.deepEqual(ingress.spec.tls, [{ secretName: "roomcast-tls", hosts: ["rt.example.org"] }]);
    const a = ingress.metadata.annotations;
    assert.equal(a["cert-manager.io/cluster-issuer"], "letsencrypt");
    assert.equal(a["nginx.ingress.kubernetes.io/session-cookie-secure"], "true");
    assert.equal(a["nginx.ingress.kubernetes.io/session-cookie-samesite"], "None");
    assert.equal(a["nginx.ingress.kubernetes.io/session-cookie-conditional-samesite-none"], "true");
    assert.equal(a["nginx.ingress.kubernetes.io/session-cookie-max-age"], "86400");

    const data = settings(objects);
    assert.equal(data.ROOMCAST_JWT_PUBLIC_KEY_FILE, "/etc/roomcast/jwt-public-key.pem");
    assert.equal(data.ROOMCAST_ROOM_POLICY, "/etc/roomcast/room-policy.json");
    const files = one(objects, "ConfigMap", `${FULLNAME}-files`).data;
    assert.match(files["jwt-public-key.pem"], /^-----BEGIN PUBLIC KEY-----\n[\s\S]+\n-----END PUBLIC KEY-----\n$/);
    assert.deepEqual(JSON.parse(files["room-policy.json"]), {
      allow: ["user:{sub}", "org:{claims.org}:*", "public:*"],
    });
    const pod = one(objects, "Deployment").spec.template.spec;
    assert.deepEqual(pod.volumes.find((v) => v.name === "files").configMap, { name: `${FULLNAME}-files` });
    assert.deepEqual(container(objects).volumeMounts.find((m) => m.name === "files"), {
      name: "files",
      mountPath: "/etc/roomcast",
      readOnly: true,
    });
  });

  test("TLS from a Secret: mounted, settings point into it, probes and the ServiceMonitor on HTTPS", () => {
    const tls = { tls: { existingSecret: "roomcast-tls", clientCaKey: "ca.crt" }, serviceMonitor: { enabled: true } };
    const objects = render(WITH_SECRETS, tls);
    const data = settings(objects);
    assert.equal(data.ROOMCAST_TLS_CERT_FILE, "/etc/roomcast-tls/tls.crt");
    assert.equal(data.ROOMCAST_TLS_KEY_FILE, "/etc/roomcast-tls/tls.key");
    assert.equal(data.ROOMCAST_TLS_CLIENT_CA_FILE, "/etc/roomcast-tls/ca.crt");
    const pod = one(objects, "Deployment").spec.template.spec;
    assert.equal(pod.volumes.find((v) => v.name === "tls").secret.secretName, "roomcast-tls");
    const roomcastd = container(objects);
    for (const probe of ["startupProbe", "livenessProbe", "readinessProbe"]) {
      assert.equal(roomcastd[probe].httpGet.scheme, "HTTPS", probe);
    }
    const [endpoint] = one(objects, "ServiceMonitor").spec.endpoints;
    assert.equal(endpoint.scheme, "https");
    assert.deepEqual(endpoint.tlsConfig, {
      ca: { secret: { name: "roomcast-tls", key: "ca.crt" } },
      serverName: `${FULLNAME}.${NAMESPACE}.svc`,
    });
    // The operator's own tlsConfig replaces the default whole.
    const own = { insecureSkipVerify: false, serverName: "metrics.example.org", ca: { configMap: { name: "cas", key: "ca.pem" } } };
    const custom = render(WITH_SECRETS, tls, { serviceMonitor: { tlsConfig: own } });
    assert.deepEqual(one(custom, "ServiceMonitor").spec.endpoints[0].tlsConfig, own);
    // Without TLS: plain http, no tlsConfig.
    const plain = one(render(WITH_SECRETS, { serviceMonitor: { enabled: true } }), "ServiceMonitor").spec.endpoints[0];
    assert.ok(!("scheme" in plain) && !("tlsConfig" in plain), JSON.stringify(plain));
  });

  test("postgres: DATABASE_URL from the operator's Secret, the rest from the chart's", () => {
    const objects = render("ci/postgres-values.yaml");
    const refs = checkSecretWiring(objects, merged("postgres-values.yaml"));
    assert.deepEqual(refs.DATABASE_URL, { name: "roomcast-db-app", key: "uri" });
    assert.deepEqual(refs.INTERNAL_API_KEY, { name: FULLNAME, key: "INTERNAL_API_KEY" });
    assert.deepEqual(sorted(Object.keys(one(objects, "Secret").data)), ["INTERNAL_API_KEY", "JWT_SECRET"]);
  });
});

// --- behaviour of single values ------------------------------------------------------------

describe("drain", () => {
  test("defaults: 5 s preStop + 10 s deadline + 5 s margin = 20 s, with the kubelet's sleep action", () => {
    const objects = render(WITH_SECRETS);
    const pod = one(objects, "Deployment").spec.template.spec;
    assert.equal(pod.terminationGracePeriodSeconds, 20);
    assert.deepEqual(container(objects).lifecycle.preStop, { sleep: { seconds: 5 } });
  });

  test("before Kubernetes 1.30 the pause is exec sleep; before 1.27 no matchLabelKeys", () => {
    const objects = template([WITH_SECRETS], { kubeVersion: "1.26.0" }).objects;
    assert.deepEqual(container(objects).lifecycle.preStop, { exec: { command: ["sleep", "5"] } });
    for (const t of one(objects, "Deployment").spec.template.spec.topologySpreadConstraints) {
      assert.ok(!("matchLabelKeys" in t));
    }
    const explicit = render(WITH_SECRETS, { drain: { preStopAction: "exec" } });
    assert.deepEqual(container(explicit).lifecycle.preStop, { exec: { command: ["sleep", "5"] } });
  });

  test("the grace period follows the deadline (rounded up) and the pause", () => {
    const objects = render(WITH_SECRETS, {
      config: { ROOMCAST_DRAIN_DEADLINE_MS: 30500, ROOMCAST_DRAIN_GRACE_MS: 3000 },
      drain: { preStopSeconds: 15, marginSeconds: 2 },
    });
    assert.equal(one(objects, "Deployment").spec.template.spec.terminationGracePeriodSeconds, 15 + 31 + 2);
    checkDrain(objects, { drain: { preStopSeconds: 15, marginSeconds: 2 }, terminationGracePeriodSeconds: null });
  });

  test("an explicit grace period is kept when it covers the drain", () => {
    const objects = render(WITH_SECRETS, { terminationGracePeriodSeconds: 60 });
    assert.equal(one(objects, "Deployment").spec.template.spec.terminationGracePeriodSeconds, 60);
  });

  test("no preStop pause with preStopSeconds 0", () => {
    const objects = render(WITH_SECRETS, { drain: { preStopSeconds: 0 } });
    assert.ok(!("lifecycle" in container(objects)));
    assert.equal(one(objects, "Deployment").spec.template.spec.terminationGracePeriodSeconds, 15);
  });
});

describe("ingress", () => {
  const on = { ingress: { enabled: true } };

  test("sticky sessions are on by default, as ingress-nginx does them", () => {
    const a = one(render(WITH_SECRETS, on), "Ingress").metadata.annotations;
    assert.equal(a["nginx.ingress.kubernetes.io/affinity"], "cookie");
    assert.equal(a["nginx.ingress.kubernetes.io/affinity-mode"], "persistent");
    assert.equal(a["nginx.ingress.kubernetes.io/session-cookie-name"], "roomcast_route");
    assert.equal(a["nginx.ingress.kubernetes.io/session-cookie-change-on-failure"], "true");
    assert.ok(!("nginx.ingress.kubernetes.io/session-cookie-secure" in a), "Secure needs TLS");
    assert.ok(!("nginx.ingress.kubernetes.io/session-cookie-max-age" in a), "a browser-session cookie");
  });

  test("sticky sessions off: timeouts stay, affinity goes; nginx off: no nginx annotation", () => {
    const off = one(render(WITH_SECRETS, on, { ingress: { stickySessions: { enabled: false } } }), "Ingress");
    const a = off.metadata.annotations;
    assert.equal(a["nginx.ingress.kubernetes.io/proxy-read-timeout"], "3600");
    assert.ok(!Object.keys(a).some((k) => k.includes("affinity") || k.includes("session-cookie")));
    const plain = one(
      render(WITH_SECRETS, on, { ingress: { nginx: false, className: "traefik", annotations: { x: "y" } } }),
      "Ingress",
    );
    assert.deepEqual(plain.metadata.annotations, { x: "y" });
    assert.equal(plain.spec.ingressClassName, "traefik");
  });

  test("the operator's annotations win over the chart's", () => {
    const a = one(
      render(WITH_SECRETS, on, {
        ingress: { annotations: { "nginx.ingress.kubernetes.io/proxy-read-timeout": "7200" } },
      }),
      "Ingress",
    ).metadata.annotations;
    assert.equal(a["nginx.ingress.kubernetes.io/proxy-read-timeout"], "7200");
  });

  test("proxy-body-size follows ROOMCAST_MAX_HTTP_BUFFER_SIZE", () => {
    const a = one(render(WITH_SECRETS, on, { config: { ROOMCAST_MAX_HTTP_BUFFER_SIZE: 5000000 } }), "Ingress")
      .metadata.annotations;
    assert.equal(a["nginx.ingress.kubernetes.io/proxy-body-size"], "5000000");
  });
});

describe("client events: the webhook needs a key to sign with", () => {
  const WEBHOOK = "https://hooks.example.com/roomcast/events";
  const hook = { config: { ROOMCAST_CLIENT_EVENTS_WEBHOOK: WEBHOOK } };
  // development: the production checks (API key, browser secret) stay out of the way.
  const development = { config: { NODE_ENV: "development" } };
  const refs = (objects) =>
    Object.fromEntries((container(objects).env || []).map((e) => [e.name, e.valueFrom?.secretKeyRef]));
  const fails = (...values) => {
    const result = helm(["template", RELEASE, chart, "--namespace", NAMESPACE, ...valuesArgs(values)]);
    assert.notEqual(result.status, 0, "helm template passed");
    return result.stderr;
  };

  test("no webhook, no secret needed; the webhook settings are in the ConfigMap with roomcastd's defaults", () => {
    const data = settings(render(development));
    assert.equal(data.ROOMCAST_CLIENT_EVENTS_WEBHOOK, "");
    assert.equal(data.ROOMCAST_CLIENT_ACK_TIMEOUT_MS, "10000");
    assert.equal(data.ROOMCAST_CLIENT_EVENT_STREAM_BUFFER_BYTES, "8388608");
    assert.equal(data.ROOMCAST_WEBHOOK_CONCURRENCY, "64");
    assert.equal(data.ROOMCAST_WEBHOOK_QUEUE, "10000");
    assert.ok(!("ROOMCAST_WEBHOOK_SECRET" in data));
  });

  test("a webhook without ROOMCAST_WEBHOOK_SECRET or INTERNAL_API_KEY fails the render", () => {
    const message = /config\.ROOMCAST_CLIENT_EVENTS_WEBHOOK is set but the webhook has no secret to sign with/;
    assert.match(fails(development, hook), message);
    // Another secret does not sign it (JWT_SECRET is the browsers').
    assert.match(
      fails(development, hook, {
        secrets: { existingSecret: "roomcast-secrets", existingSecretKeys: { JWT_SECRET: "JWT_SECRET" } },
      }),
      message,
    );
    // A key of no Secret is no secret: the chart says so first.
    assert.match(
      fails(development, hook, { secrets: { existingSecretKeys: { ROOMCAST_WEBHOOK_SECRET: "webhook" } } }),
      /secrets\.existingSecretKeys\.ROOMCAST_WEBHOOK_SECRET is set but no Secret is named/,
    );
    // ROOMCAST_INSECURE lifts the production checks, not this one: roomcastd refuses it anyway.
    assert.match(fails(hook, { config: { ROOMCAST_INSECURE: true } }), message);
  });

  test("ROOMCAST_WEBHOOK_SECRET from an existing Secret: wired by secretKeyRef, never in the ConfigMap", () => {
    const objects = render(development, hook, {
      secrets: { existingSecret: "hooks", existingSecretKeys: { ROOMCAST_WEBHOOK_SECRET: "webhook-secret" } },
    });
    assert.deepEqual(refs(objects), { ROOMCAST_WEBHOOK_SECRET: { name: "hooks", key: "webhook-secret" } });
    const data = settings(objects);
    assert.equal(data.ROOMCAST_CLIENT_EVENTS_WEBHOOK, WEBHOOK);
    assert.ok(!("ROOMCAST_WEBHOOK_SECRET" in data));
    assert.deepEqual(all(objects, "Secret"), []);

    // In production, next to the API key, and from a Secret of its own (existingSecretNames).
    const production = render(WITH_SECRETS, hook, {
      secrets: {
        existingSecretKeys: { ROOMCAST_WEBHOOK_SECRET: "hmac" },
        existingSecretNames: { ROOMCAST_WEBHOOK_SECRET: "webhook-signing" },
      },
    });
    assert.deepEqual(refs(production), {
      INTERNAL_API_KEY: { name: "roomcast-secrets", key: "INTERNAL_API_KEY" },
      JWT_SECRET: { name: "roomcast-secrets", key: "JWT_SECRET" },
      ROOMCAST_WEBHOOK_SECRET: { name: "webhook-signing", key: "hmac" },
    });
    for (const object of production) if (MODELS[`${object.apiVersion}/${object.kind}`]) validate(object);
  });

  test("ROOMCAST_WEBHOOK_SECRET in the chart's Secret (secrets.create)", () => {
    const objects = render(development, hook, {
      secrets: { create: true, values: { ROOMCAST_WEBHOOK_SECRET: "s3cret" } },
    });
    assert.deepEqual(refs(objects), { ROOMCAST_WEBHOOK_SECRET: { name: FULLNAME, key: "ROOMCAST_WEBHOOK_SECRET" } });
    const secret = one(objects, "Secret", FULLNAME);
    assert.deepEqual(Object.keys(secret.data), ["ROOMCAST_WEBHOOK_SECRET"]);
    assert.equal(Buffer.from(secret.data.ROOMCAST_WEBHOOK_SECRET, "base64").toString(), "s3cret");
  });

  test("INTERNAL_API_KEY alone signs the webhook (roomcastd's default): the render passes", () => {
    const objects = render(development, hook, {
      secrets: { existingSecret: "roomcast-secrets", existingSecretKeys: { INTERNAL_API_KEY: "INTERNAL_API_KEY" } },
    });
    assert.deepEqual(refs(objects), { INTERNAL_API_KEY: { name: "roomcast-secrets", key: "INTERNAL_API_KEY" } });
    assert.equal(settings(objects).ROOMCAST_CLIENT_EVENTS_WEBHOOK, WEBHOOK);
    // The production install of the README (API key and JWT_SECRET) takes a webhook as it is.
    assert.equal(settings(render(WITH_SECRETS, hook)).ROOMCAST_CLIENT_EVENTS_WEBHOOK, WEBHOOK);
  });

  test("the schema takes http(s) URLs only, and roomcastd's ranges of the other settings", () => {
    settings(render(WITH_SECRETS, { config: { ROOMCAST_CLIENT_EVENTS_WEBHOOK: "http://hooks.svc:8080" } }));
    for (const url of ["hooks.example.com/events", "ftp://hooks.example.com/", "https://", "https://a b/"]) {
      assert.match(
        fails(WITH_SECRETS, { config: { ROOMCAST_CLIENT_EVENTS_WEBHOOK: url } }),
        /schema[\s\S]*config[./]ROOMCAST_CLIENT_EVENTS_WEBHOOK/,
        url,
      );
    }
    for (const [env, value] of [
      ["ROOMCAST_CLIENT_ACK_TIMEOUT_MS", 0],
      ["ROOMCAST_CLIENT_EVENT_STREAM_BUFFER_BYTES", 1023],
      ["ROOMCAST_WEBHOOK_CONCURRENCY", 0],
      ["ROOMCAST_WEBHOOK_QUEUE", -1],
    ]) {
      const pattern = new RegExp(`schema[\\s\\S]*config[./]${env}`);
      assert.match(fails(WITH_SECRETS, { config: { [env]: value } }), pattern, env);
    }
    const data = settings(
      render(WITH_SECRETS, { config: { ROOMCAST_WEBHOOK_QUEUE: 0, ROOMCAST_CLIENT_EVENT_STREAM_BUFFER_BYTES: 1024 } }),
    );
    assert.equal(data.ROOMCAST_WEBHOOK_QUEUE, "0");
    assert.equal(data.ROOMCAST_CLIENT_EVENT_STREAM_BUFFER_BYTES, "1024");
  });
});

describe("rollout and checksums", () => {
  const checksum = (objects, which = "checksum/config") =>
    one(objects, "Deployment").spec.template.metadata.annotations[which];

  test("a setting's change rolls the pods; a label's does not change the checksum", () => {
    const base = checksum(render(WITH_SECRETS));
    assert.notEqual(checksum(render(WITH_SECRETS, { config: { LOG_LEVEL: "debug" } })), base);
    assert.notEqual(checksum(render(WITH_SECRETS, { files: { roomPolicy: { allow: ["a:*"] } } })), base);
    assert.equal(checksum(render(WITH_SECRETS, { podLabels: { team: "rt" } })), base);
  });

  test("a created Secret's change rolls the pods", () => {
    const secret = (key) => ({ secrets: { create: true, values: { INTERNAL_API_KEY: key, JWT_SECRET: "j" } } });
    const a = checksum(render(secret("one")), "checksum/secret");
    const b = checksum(render(secret("two")), "checksum/secret");
    assert.match(a, /^[0-9a-f]{64}$/);
    assert.notEqual(a, b);
  });

  test("an existing Secret is referenced, never rendered", () => {
    const objects = render(WITH_SECRETS);
    assert.deepEqual(all(objects, "Secret"), []);
    assert.ok(!("checksum/secret" in one(objects, "Deployment").spec.template.metadata.annotations));
  });

  test("PodDisruptionBudget: maxUnavailable 1 by default, minAvailable when given", () => {
    assert.deepEqual(one(render(WITH_SECRETS), "PodDisruptionBudget").spec.maxUnavailable, 1);
    const pdb = one(render(WITH_SECRETS, { pdb: { minAvailable: "50%" } }), "PodDisruptionBudget");
    assert.equal(pdb.spec.minAvailable, "50%");
    assert.ok(!("maxUnavailable" in pdb.spec));
    assert.deepEqual(all(render(WITH_SECRETS, { pdb: { create: false } }), "PodDisruptionBudget"), []);
  });

  test("NetworkPolicy defaults: HTTP from anywhere, gRPC from client pods, egress open", () => {
    const policy = one(render(WITH_SECRETS, { networkPolicy: { enabled: true } }), "NetworkPolicy");
    validate(policy);
    assert.deepEqual(policy.spec.policyTypes, ["Ingress"]);
    assert.ok(!("from" in policy.spec.ingress[0]), "HTTP open: browsers come through the ingress controller");
    assert.deepEqual(policy.spec.ingress[1].from, [{ podSelector: { matchLabels: { [`${FULLNAME}-client`]: "true" } } }]);
  });
});

describe("the validator and the helpers are not no-ops", () => {
  test("kubernetes-models rejects a wrong type", () => {
    const objects = render(WITH_SECRETS);
    const broken = structuredClone(one(objects, "Deployment"));
    broken.spec.template.spec.containers[0].ports[0].containerPort = "3001";
    assert.throws(() => new apps.Deployment(broken).validate(), /containerPort/);
  });
});

// --- values that must fail ---------------------------------------------------------------

describe("values that must fail (ci/fail)", () => {
  const dir = path.join(chart, "ci/fail");
  const cases = fs.readdirSync(dir).filter((f) => f.endsWith(".yaml")).sort();

  test("there are cases", () => assert.ok(cases.length >= 20, `${cases.length} cases`));

  for (const file of cases) {
    const text = fs.readFileSync(path.join(dir, file), "utf8");
    const expect = /^# expect: (.+)$/m.exec(text);
    const layers = /^# base: none$/m.test(text) ? [] : ["ci/single-values.yaml"];
    // Schema violations fail helm lint too; the templates' `fail` checks stop helm template,
    // install and upgrade, while helm lint runs templates in a mode where `fail` only logs.
    const bySchema = expect && expect[1].startsWith("schema");
    test(`${file} fails helm template${bySchema ? " and helm lint --strict" : ""}`, () => {
      assert.ok(expect, `${file} has no "# expect:" line`);
      const pattern = new RegExp(expect[1]);
      const args = valuesArgs([...layers, path.join(dir, file)]);
      const rendered = helm(["template", RELEASE, chart, "--namespace", NAMESPACE, ...args]);
      assert.notEqual(rendered.status, 0, `${file}: helm template passed`);
      assert.match(rendered.stderr, pattern);
      if (bySchema) {
        const linted = helm(["lint", "--strict", chart, ...args]);
        assert.notEqual(linted.status, 0, `${file}: helm lint passed`);
        assert.match(linted.stdout + linted.stderr, pattern);
      }
    });
  }

  test("without the base, the defaults fail on the missing API key (production)", () => {
    const result = helm(["template", RELEASE, chart]);
    assert.notEqual(result.status, 0);
    assert.match(result.stderr, /NODE_ENV=production requires INTERNAL_API_KEY/);
  });
});

// --- NOTES.txt and the chart's README --------------------------------------------------------

describe("NOTES.txt", () => {
  // helm template does not print NOTES.txt: a copy of the chart renders it into a ConfigMap.
  const copy = path.join(scratch, "chart");
  fs.cpSync(chart, copy, { recursive: true });
  const source = fs.readFileSync(path.join(copy, "templates/NOTES.txt"), "utf8");
  fs.writeFileSync(path.join(copy, "templates/_notes.tpl"), `{{- define "test.notes" -}}\n${source}\n{{- end -}}\n`);
  fs.writeFileSync(
    path.join(copy, "templates/notes.yaml"),
    'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: notes\ndata:\n  notes: {{ include "test.notes" . | toJson }}\n',
  );
  const notes = (...values) =>
    one(template(values, { dir: copy, extra: ["--show-only", "templates/notes.yaml"] }).objects, "ConfigMap").data.notes;

  test("tells services where the control plane is and warns about production CORS", () => {
    const text = notes(WITH_SECRETS);
    assert.match(text, new RegExp(`ROOMCAST_GRPC_TARGET=${FULLNAME}\\.${NAMESPACE}\\.svc:50051`));
    assert.match(text, new RegExp(`INTERNAL_API_URL=http://${FULLNAME}\\.${NAMESPACE}\\.svc:3001`));
    assert.match(text, /INTERNAL_API_KEY from the Secret roomcast-secrets, key INTERNAL_API_KEY/);
    assert.match(text, /WARNING: NODE_ENV=production without config.CORS_ORIGIN/);
    assert.match(text, /port-forward svc\/rc-roomcast 3001:3001/);
    assert.match(text, /terminationGracePeriodSeconds=20/);
  });

  test("ingress URL, and the per-address limits behind it", () => {
    const text = notes("ci/tls-values.yaml");
    assert.match(text, /io\("https:\/\/rt\.example\.org"\)/);
    assert.doesNotMatch(text, /CORS_ORIGIN:/);
    assert.doesNotMatch(text, /per-address limits/, "ROOMCAST_TRUSTED_PROXIES is set there");
    // The controller's private address is not limited per address by default; it is with
    // ROOMCAST_LIMIT_PRIVATE_ADDRESSES, unless trusted proxies name the browsers.
    assert.doesNotMatch(notes(WITH_SECRETS, { ingress: { enabled: true } }), /per-address limits/);
    const limited = { ingress: { enabled: true }, config: { ROOMCAST_LIMIT_PRIVATE_ADDRESSES: true } };
    assert.match(notes(WITH_SECRETS, limited), /per-address limits/);
    assert.doesNotMatch(notes(WITH_SECRETS, limited, { config: { ROOMCAST_TRUSTED_PROXIES: "10.0.0.0/8" } }),
      /per-address limits/);
  });
});

describe("the chart's README documents every value", () => {
  // A key whose comment starts with "# --" is documented (its children are not); the others
  // are sections, walked into. Every leaf must be under a documented key.
  function documented() {
    const doc = parseDocument(fs.readFileSync(path.join(chart, "values.yaml"), "utf8"));
    const keys = new Map();
    const walk = (map, prefix) => {
      map.items.forEach((pair, i) => {
        const key = prefix + pair.key.value;
        const comment = pair.key.commentBefore ?? (i === 0 ? map.commentBefore : undefined) ?? "";
        if (/^ --/m.test(comment)) keys.set(key, pair.value.toJSON());
        else if (isMap(pair.value) && pair.value.items.length) walk(pair.value, `${key}.`);
        else assert.fail(`values.yaml: ${key} has no "# --" description`);
      });
    };
    walk(doc.contents, "");
    return keys;
  }

  test("a row per documented key, with its default", () => {
    const readme = fs.readFileSync(path.join(chart, "README.md"), "utf8");
    const rows = new Map();
    for (const match of readme.matchAll(/^\| `([\w.-]+)` \| `(.*?)` \| .+ \|$/gm)) rows.set(match[1], match[2]);
    const keys = documented();
    assert.ok(keys.size > 100, `${keys.size} documented values`);
    const missing = [...keys.keys()].filter((k) => !rows.has(k));
    assert.deepEqual(missing, [], "values missing from helm/roomcast/README.md");
    const stale = [...rows.keys()].filter((k) => !keys.has(k));
    assert.deepEqual(stale, [], "README rows for values that are gone");
    for (const [key, value] of keys) {
      assert.equal(rows.get(key), JSON.stringify(value), `README default of ${key}`);
    }
  });
});
