// Cross-checks of the Kubernetes manifests (pure): what the API server would accept but the cluster would
// get wrong at runtime. Schema validity is kubernetes-models' job (manifests.test.ts).
type Obj = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

export interface Generated { secrets: Record<string, string[]> }

const podSpecs = (docs: Obj[]) => docs.filter((d) => d.spec?.template?.spec).map((d) => ({ owner: `${d.kind}/${d.metadata.name}`, tpl: d.spec.template, spec: d.spec.template.spec as Obj }));
const matches = (selector: Record<string, string> = {}, labels: Record<string, string> = {}) =>
  Object.keys(selector).length > 0 && Object.entries(selector).every(([k, v]) => labels[k] === v);

export function k8sProblems(docs: Obj[], gen: Generated): string[] {
  const problems: string[] = [];
  const byKind = (kind: string) => docs.filter((d) => d.kind === kind);
  const configMaps = Object.fromEntries(byKind("ConfigMap").map((c) => [c.metadata.name, Object.keys(c.data ?? {})]));
  const secrets: Record<string, string[]> = { ...Object.fromEntries(byKind("Secret").map((s) => [s.metadata.name, Object.keys({ ...s.data, ...s.stringData })])), ...gen.secrets };
  const claims = new Set(byKind("PersistentVolumeClaim").map((p) => p.metadata.name));
  const pods = podSpecs(docs);

  for (const { owner, tpl, spec } of pods) {
    const d = docs.find((x) => `${x.kind}/${x.metadata.name}` === owner)!;
    if (!matches(d.spec.selector?.matchLabels, tpl.metadata?.labels)) problems.push(`${owner}: selector ${JSON.stringify(d.spec.selector?.matchLabels)} does not match its pod labels`);
    if (d.kind === "StatefulSet" && !byKind("Service").some((s) => s.metadata.name === d.spec.serviceName)) problems.push(`${owner}: serviceName ${d.spec.serviceName} is no Service`);
    const templateClaims = new Set((d.spec.volumeClaimTemplates ?? []).map((t: Obj) => t.metadata.name));
    const volumes = new Set([...(spec.volumes ?? []).map((v: Obj) => v.name), ...templateClaims]);
    for (const v of spec.volumes ?? []) {
      if (v.secret && !secrets[v.secret.secretName]) problems.push(`${owner}: volume ${v.name} uses Secret ${v.secret.secretName}, defined nowhere`);
      if (v.configMap && !configMaps[v.configMap.name]) problems.push(`${owner}: volume ${v.name} uses ConfigMap ${v.configMap.name}, defined nowhere`);
      if (v.persistentVolumeClaim && !claims.has(v.persistentVolumeClaim.claimName)) problems.push(`${owner}: volume ${v.name} claims ${v.persistentVolumeClaim.claimName}, defined nowhere`);
    }
    for (const c of spec.containers as Obj[]) {
      const where = `${owner} container ${c.name}`;
      for (const m of c.volumeMounts ?? []) if (!volumes.has(m.name)) problems.push(`${where}: mounts volume ${m.name}, which the pod does not have`);
      for (const e of c.env ?? []) {
        const s = e.valueFrom?.secretKeyRef;
        const cm = e.valueFrom?.configMapKeyRef;
        if (s && !(secrets[s.name] ?? []).includes(s.key)) problems.push(`${where}: env ${e.name} reads key ${s.key} of Secret ${s.name}, which ${secrets[s.name] ? "has no such key" : "is defined nowhere"}`);
        if (cm && !(configMaps[cm.name] ?? []).includes(cm.key)) problems.push(`${where}: env ${e.name} reads key ${cm.key} of ConfigMap ${cm.name}, which ${configMaps[cm.name] ? "has no such key" : "is defined nowhere"}`);
      }
      for (const f of c.envFrom ?? []) {
        if (f.configMapRef && !configMaps[f.configMapRef.name]) problems.push(`${where}: envFrom ConfigMap ${f.configMapRef.name}, defined nowhere`);
        if (f.secretRef && !secrets[f.secretRef.name]) problems.push(`${where}: envFrom Secret ${f.secretRef.name}, defined nowhere`);
      }
      const portNames = new Set((c.ports ?? []).map((p: Obj) => p.name));
      for (const probe of ["startupProbe", "livenessProbe", "readinessProbe"]) {
        const port = c[probe]?.httpGet?.port ?? c[probe]?.tcpSocket?.port;
        if (typeof port === "string" && !portNames.has(port)) problems.push(`${where}: ${probe} uses port ${port}, which the container does not name`);
      }
    }
  }
  for (const svc of byKind("Service")) {
    const backing = pods.filter((p) => matches(svc.spec.selector, p.tpl.metadata?.labels));
    if (!backing.length) { problems.push(`Service/${svc.metadata.name}: selector matches no pod template`); continue; }
    for (const port of svc.spec.ports ?? []) {
      const target = port.targetPort ?? port.port;
      const ok = backing.some((p) => (p.spec.containers as Obj[]).some((c) => (c.ports ?? []).some((cp: Obj) => cp.name === target || cp.containerPort === target)));
      if (!ok) problems.push(`Service/${svc.metadata.name}: port ${port.name ?? port.port} targets ${target}, which no selected container exposes`);
    }
  }
  for (const ing of byKind("Ingress")) {
    for (const rule of ing.spec.rules ?? []) for (const path of rule.http?.paths ?? []) {
      const b = path.backend.service;
      const svc = byKind("Service").find((s) => s.metadata.name === b.name);
      if (!svc) problems.push(`Ingress/${ing.metadata.name}: backend Service ${b.name} is defined nowhere`);
      else if (!(svc.spec.ports ?? []).some((p: Obj) => (b.port.name ? p.name === b.port.name : p.port === b.port.number))) problems.push(`Ingress/${ing.metadata.name}: Service ${b.name} has no port ${b.port.name ?? b.port.number}`);
    }
  }
  for (const pdb of byKind("PodDisruptionBudget")) {
    if (!pods.some((p) => matches(pdb.spec.selector?.matchLabels, p.tpl.metadata?.labels))) problems.push(`PodDisruptionBudget/${pdb.metadata.name}: selects no pods`);
  }
  return problems;
}

/** kustomize secretGenerator entries -> secret name and its keys (`files: [path]` or `[key=path]`). */
export function generatedSecrets(kustomization: Obj): Record<string, string[]> {
  return Object.fromEntries((kustomization.secretGenerator ?? []).map((g: Obj) => [g.name, (g.files ?? []).map((f: string) => (f.includes("=") ? f.split("=")[0]! : f.split("/").at(-1)!))]));
}
