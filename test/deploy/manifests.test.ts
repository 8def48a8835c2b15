import { execFileSync } from "node:child_process";
import { existsSync, readFileSync, readdirSync } from "node:fs";
import { join } from "node:path";
import { validate as lintDockerfile } from "dockerfile-utils";
import { DCLinter } from "dclint";
import { parse, parseAllDocuments } from "yaml";
import { describe, expect, it } from "vitest";
import { ENV_VARS } from "@outpost/agent";
import { REPO, tempDir } from "../lib/processes.ts";
import { readCompose, COMPOSE_FILE } from "./lib/compose.ts";
import { dockerfileProblems, readDockerfile, type HubFacts } from "./lib/dockerfile.ts";
import { DOCKERFILE } from "./lib/image.ts";
import { generatedSecrets, k8sProblems } from "./lib/k8s.ts";
import { readEnvFile } from "./lib/unit.ts";
import * as apps from "kubernetes-models/apps/v1";
import * as networking from "kubernetes-models/networking.k8s.io/v1";
import * as policy from "kubernetes-models/policy/v1";
import * as core from "kubernetes-models/v1";

/** The API groups the manifests may use: a kind outside them fails as unknown. */
const MODELS: Record<string, object> = { v1: core, "apps/v1": apps, "policy/v1": policy, "networking.k8s.io/v1": networking };

const DEPLOY = join(REPO, "deploy");
const read = (p: string) => readFileSync(join(REPO, p), "utf8");
const deployFiles = () => execFileSync("git", ["ls-files", "--cached", "--others", "--exclude-standard", "deploy"], { cwd: REPO, encoding: "utf8" }).split("\n").filter(Boolean);
const K8S = join(DEPLOY, "k8s");
const k8sDocs = () => readdirSync(K8S).filter((f) => f.endsWith(".yaml") && f !== "kustomization.yaml")
  .flatMap((f) => parseAllDocuments(readFileSync(join(K8S, f), "utf8")).map((d) => d.toJS() as Record<string, any>)); // eslint-disable-line @typescript-eslint/no-explicit-any
const kustomization = () => parse(readFileSync(join(K8S, "kustomization.yaml"), "utf8"));
/** The file names deploy/make-secrets.sh writes, from running it. */
const secretFiles = (() => {
  let names: string[] | undefined;
  return () => names ??= (() => { const d = tempDir("deploy-secrets"); execFileSync("bash", [join(DEPLOY, "make-secrets.sh"), d], { stdio: "pipe" }); return readdirSync(d).sort(); })();
})();

/** The hub's defaults and routes, read from its source rather than restated here. */
function hubFacts(): HubFacts {
  const cli = read("cli/commands/hub.ts");
  const mqtt = read("hub/src/mqtt/config.ts");
  return {
    httpPort: Number(/OUTPOST_PORT \?\? "(\d+)"/.exec(cli)![1]),
    mqttPorts: [Number(/"OUTPOST_MQTT_PORT"[^?]*\?\? (\d+)/.exec(mqtt)![1]), Number(/"OUTPOST_MQTT_WS_PORT"[^?]*\?\? (\d+)/.exec(mqtt)![1])],
    openRoutes: [...read("hub/src/app.ts").matchAll(/app\.get\("(\/[a-z/]+)"/g)].map((m) => m[1]!).concat("/agent/v1/keys"),
    exists: (p) => existsSync(join(REPO, p)),
  };
}

/** Names of environment variables the hub process (hub/src, cli/) reads. */
function hubEnvNames(): Set<string> {
  const files = execFileSync("git", ["ls-files", "hub/src", "cli", "bin"], { cwd: REPO, encoding: "utf8" }).split("\n").filter((f) => /\.(ts|js)$/.test(f) && !f.includes(".test."));
  const names = new Set<string>();
  for (const f of files) for (const m of read(f).matchAll(/env(?:\.|\[")([A-Z][A-Z0-9_]+)/g)) names.add(m[1]!);
  return names;
}

describe("deploy/: every file parses and says only what the code reads", () => {
  it("every file under deploy/ is valid for its kind", () => {
    for (const f of deployFiles()) {
      const text = read(f);
      if (/\.ya?ml$/.test(f)) for (const d of parseAllDocuments(text)) expect(d.errors, f).toEqual([]);
      else if (f.endsWith(".sh")) execFileSync(text.startsWith("#!/bin/sh") ? "sh" : "bash", ["-n", join(REPO, f)]);
      else if (f.endsWith("Dockerfile")) expect(lintDockerfile(text), f).toEqual([]);
      else if (f.endsWith(".env.example")) readEnvFile(text);
      else if (/\.(service|conf|md|dockerignore)$|\/\.gitignore$/.test(f)) continue; // systemd.test.ts, mosquitto, docs
      else throw new Error(`${f}: no check for this kind of file in test/deploy/manifests.test.ts`);
    }
    expect(lintDockerfile(read("deploy/container/Dockerfile").replace("COPY bin bin", "COPPY bin bin"))).not.toEqual([]);
  });

  it("the Dockerfile: Node 20, real COPY sources, a numeric non-root user, the hub's ports, an open health route", () => {
    const facts = hubFacts();
    expect(facts).toMatchObject({ httpPort: 7800, mqttPorts: [1883, 8083] });
    expect(dockerfileProblems(readDockerfile(readFileSync(DOCKERFILE, "utf8")), facts)).toEqual([]);
    const broken = readFileSync(DOCKERFILE, "utf8").replace("USER 10001:10001", "USER root").replace("COPY cli cli", "COPY cli2 cli").replace("/healthz", "/health").replace("EXPOSE 7800 1883 8083", "EXPOSE 8080");
    expect(dockerfileProblems(readDockerfile(broken), facts)).toHaveLength(6);
  });

  it("compose.yaml passes dclint (the compose-spec schema and its rules), a broken one does not", () => {
    const lint = (file: string) => new DCLinter({ rules: {}, quiet: false, debug: false, exclude: [] }).lintFiles([file], false)[0]!;
    const r = lint(COMPOSE_FILE);
    expect(r.messages, JSON.stringify(r.messages, null, 1)).toEqual([]);
    const dir = tempDir("deploy-compose-lint");
    const bad = join(dir, "compose.yaml");
    execFileSync("sh", ["-c", `sed 's/restart: unless-stopped/restartt: unless-stopped/' '${COMPOSE_FILE}' > '${bad}'`]);
    expect(lint(bad).errorCount).toBeGreaterThan(0);
  });

  it("compose.yaml's parts fit together: secrets from make-secrets.sh, one hub account, mounted files exist", () => {
    const c = readCompose();
    expect(Object.values(c.secrets).map((s) => s.file.replace("./secrets/", "")).sort()).toEqual(secretFiles().filter((f) => f !== "sqld_jwt_private_key.pem"));
    expect(c.services.mosquitto!.environment!.DYNSEC_ADMIN_USER).toBe(c.services["hub-1"]!.environment!.MQTT_USERNAME);
    for (const [name, s] of Object.entries(c.services)) {
      for (const v of s.volumes ?? []) if (v.startsWith("./")) expect(existsSync(join(DEPLOY, v.split(":")[0]!)), `${name}: ${v}`).toBe(true);
      if (s.build) expect(existsSync(join(DEPLOY, s.build.context, s.build.dockerfile))).toBe(true);
    }
    expect(Object.keys(c.services).filter((n) => n.startsWith("hub-")).length).toBeGreaterThanOrEqual(2);
    expect(c.services["hub-2"]!.depends_on!["hub-1"]).toEqual({ condition: "service_healthy" });
  });

  it("every hub and agent setting named in deploy/ is one the code reads", () => {
    const hubNames = hubEnvNames();
    const entrypoint = read("deploy/container/entrypoint.sh");
    const c = readCompose();
    const hubSettings = new Set([
      ...Object.keys(c.services["hub-1"]!.environment!), ...Object.keys(readDockerfile(readFileSync(DOCKERFILE, "utf8")).at(-1)!.env),
      ...[...read("deploy/systemd/hub.env.example").matchAll(/^#?([A-Z][A-Z0-9_]+)=/gm)].map((m) => m[1]!),
      ...k8sDocs().filter((d) => d.kind === "ConfigMap" && d.metadata.name === "outpost-hub").flatMap((d) => Object.keys(d.data)),
      ...k8sDocs().filter((d) => d.metadata.name === "outpost-hub" && d.kind === "Deployment").flatMap((d) => d.spec.template.spec.containers[0].env.map((e: { name: string }) => e.name)),
      ...read("deploy/systemd/outpost-hub.service").match(/^Environment=([A-Z_]+)=/gm)!.map((l) => l.split("=")[1]!),
    ]);
    const unknown = (names: Iterable<string>) => [...names].filter((n) => n !== "NODE_ENV" && !(n.endsWith("_FILE") ? entrypoint.includes(` ${n.slice(0, -5)} `) || entrypoint.includes(` ${n.slice(0, -5)};`) : hubNames.has(n)));
    expect(hubSettings.size).toBeGreaterThan(10);
    expect(unknown(hubSettings)).toEqual([]);
    expect(unknown(["OUTPOST_PORTT", "MQTT_PASSWORD_FILE", "DATABASE_URL_FILE"])).toEqual(["OUTPOST_PORTT", "DATABASE_URL_FILE"]);
    const agentNames = [...read("deploy/systemd/agent.env.example").matchAll(/^#?([A-Z][A-Z0-9_]+)=/gm)].map((m) => m[1]!).concat("OUTPOST_ENROLL_TOKEN");
    expect(agentNames.filter((n) => !(n in ENV_VARS))).toEqual([]);
  });

  it("k8s: every document is a valid object of a known kind; selectors, Secrets, ConfigMaps, claims and ports line up", async () => {
    const docs = k8sDocs();
    for (const d of docs) {
      const Model = (MODELS[d.apiVersion] as Record<string, new (o: unknown) => { validate(): void }> | undefined)?.[d.kind];
      expect(Model, `${d.apiVersion} ${d.kind}`).toBeDefined();
      expect(() => new Model!(d).validate(), `${d.kind}/${d.metadata.name}`).not.toThrow();
    }
    const k = kustomization();
    expect([...k.resources].sort()).toEqual(readdirSync(K8S).filter((f) => f.endsWith(".yaml") && f !== "kustomization.yaml").sort());
    const gen = { secrets: generatedSecrets(k) };
    const files = new Set(secretFiles());
    for (const g of k.secretGenerator) for (const f of g.files) expect(files.has(f.replace("secrets/", "")), f).toBe(true);
    expect(k8sProblems(docs, gen)).toEqual([]);

    // The checks bite: a mismatched selector, a missing Secret key, a Service port nothing serves.
    const broken = structuredClone(docs);
    const hub = broken.find((d) => d.kind === "Deployment" && d.metadata.name === "outpost-hub")!;
    hub.spec.selector.matchLabels = { "app.kubernetes.io/name": "outpost-hubb" };
    hub.spec.template.spec.containers[0].env[1].valueFrom.secretKeyRef.key = "sqld-token";
    broken.find((d) => d.kind === "Service" && d.metadata.name === "sqld")!.spec.ports[0].targetPort = "grpc";
    expect(k8sProblems(broken, gen)).toEqual([
      expect.stringContaining("Deployment/outpost-hub: selector"),
      expect.stringContaining("env DATABASE_AUTH_TOKEN reads key sqld-token of Secret outpost-hub-secrets, which has no such key"),
      expect.stringContaining("Service/sqld: port http targets grpc"),
    ]);
  });

  it("k8s matches the image and the hub: its uid, its port, open probe routes, Mosquitto's files verbatim", () => {
    const docs = k8sDocs();
    const image = readDockerfile(readFileSync(DOCKERFILE, "utf8")).at(-1)!;
    const hub = docs.find((d) => d.kind === "Deployment" && d.metadata.name === "outpost-hub")!;
    const pod = hub.spec.template.spec;
    expect(hub.spec.replicas).toBeGreaterThanOrEqual(2);
    expect(`${pod.securityContext.runAsUser}:${pod.securityContext.runAsGroup}`).toBe(image.user);
    expect(pod.containers[0].ports[0].containerPort).toBe(Number(image.env.OUTPOST_PORT));
    expect(pod.containers[0].volumeMounts.map((m: { mountPath: string }) => m.mountPath)).toContain(image.env.OUTPOST_DATA_DIR);
    const routes = hubFacts().openRoutes;
    for (const p of ["startupProbe", "livenessProbe", "readinessProbe"]) expect(routes, p).toContain(pod.containers[0][p].httpGet.path);
    const cm = docs.find((d) => d.kind === "ConfigMap" && d.metadata.name === "mosquitto")!;
    expect(cm.data["mosquitto.conf"]).toBe(read("deploy/mosquitto/mosquitto.conf"));
    expect(cm.data["start.sh"]).toBe(read("deploy/mosquitto/start.sh"));
    expect(docs.find((d) => d.kind === "StatefulSet" && d.metadata.name === "sqld")!.spec.volumeClaimTemplates).toHaveLength(1);
  });
});
