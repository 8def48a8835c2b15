import { existsSync } from "node:fs";
import path from "node:path";
import type { Logger } from "pino";
import { base64url } from "jose";
import {
  artifactPath, HubError, VerifyCodes, VerifyError, type Artifact, type VerifyCode,
} from "@outpost/shared";
import { createArtifactCache } from "../artifacts/cache.ts";
import type { AgentConfig } from "../config.ts";
import { createDrivers, driverSchema } from "../drivers/index.ts";
import { Reconciler, type RunResult } from "../reconcile/reconciler.ts";
import { readReconcileRecord } from "../reconcile/record.ts";
import { Events } from "../report/events.ts";
import { enqueue, makeReport } from "../report/outbox.ts";
import { buildStatusBody } from "../report/status-body.ts";
import { currentBundle } from "../store/bundles.ts";
import { openStore, STATE_FILE, type Store } from "../store/db.ts";
import { journalAppend } from "../store/journal.ts";
import { BundleIntake } from "../trust/intake.ts";
import { describeTrust, loadTrust } from "../trust/trust-store.ts";
import { copyArtifactIntoCache } from "./artifacts.ts";
import { AirgapError } from "./errors.ts";
import { readExportDir, type ExportDir } from "./export-dir.ts";
import { runningAgentPid } from "./running.ts";

export interface ImportOptions {
  /** The export directory (`outpost bundle export --out`). */
  dir: string;
  /** The agent's configuration (state directory, site, drivers): the same as `outpost agent start`'s. */
  config: AgentConfig;
  log: Logger;
}

export interface ImportResult {
  site: string;
  bundleVersion: number;
  release: { name: string; version: string };
  /** False when this very bundle was already imported (or received): nothing new was verified. */
  accepted: boolean;
  trust: { rootVersion: number; keysVersion: number | null; updated: boolean };
  artifacts: { name: string; sha256: string; size: number; copied: boolean }[];
  reconcile:
    | { ran: true; kind: RunResult["kind"]; steps: number; done: number; pending: number; state: string }
    | { ran: false; reason: string };
}

/**
 * `outpost agent import`: applies an export exactly as if it had come over the network.
 * 1. every file is checked against the manifest (a damaged stick changes nothing);
 * 2. trust.json goes through the intake's own trust refresh (root rotations from the pinned root,
 *    keys document under the root threshold): documents signed by anyone else are refused;
 * 3. bundle.jws goes through the same BundleIntake as a polled bundle: signature, key, site,
 *    expiry and rollback checks, the bundle-received / bundle-rejected event, all identical;
 * 4. the artifacts it names are copied into the artifact cache after digest + size checks;
 * 5. one reconcile pass with the configured drivers, unless the agent itself runs on this state
 *    file: then it applies the bundle on its next heal tick (two reconcilers must never race),
 *    and a status report is queued for the next `export-reports`.
 * Refusals throw AirgapError with a code; before step 3 accepts, nothing in the state file changed
 * except a newer, valid keys document.
 */
export async function importExport(o: ImportOptions): Promise<ImportResult> {
  const { config, log } = o;
  if (!existsSync(path.join(config.stateDir, STATE_FILE))) {
    throw new AirgapError("NOT_ENROLLED", `no agent state in ${config.stateDir}: enroll this site first (outpost agent start with an enrollment token), then import`);
  }
  const exp = await readExportDir(o.dir);
  const store = await openStore(config.stateDir, { schema: driverSchema(config) });
  try {
    return await importInto(store, exp, config, log);
  } finally { store.close(); }
}

async function importInto(store: Store, exp: ExportDir, config: AgentConfig, log: Logger): Promise<ImportResult> {
  const trusted = await loadTrust(store.db);
  if (!trusted) throw new AirgapError("NOT_ENROLLED", `the state in ${config.stateDir} has no pinned root yet: enroll this site first`);
  if (trusted.site !== config.site) {
    throw new AirgapError("WRONG_STATE_DIR", `the state directory ${config.stateDir} belongs to site ${trusted.site}, not ${config.site}`);
  }
  checkArtifactsPresent(exp);

  const events = new Events(store, config.outboxMax, log);
  const intake = new BundleIntake({ store, events, log, fetchKeys: async () => exp.trust, onAccepted: () => {} });
  const source = `file ${path.resolve(exp.dir)}`;

  let trust = trusted;
  try {
    trust = await intake.refreshTrust(trusted, new Date());
  } catch (e) {
    if (!(e instanceof VerifyError)) throw e;
    // An older export carries older (but genuine) trust documents: keep the newer ones and let
    // the bundle be judged under them (it will then be refused as a rollback, by its own code).
    if (e.code !== "KEYS_ROLLBACK") {
      await store.write([journalAppend("airgap-import", { outcome: "refused", code: e.code, source })]);
      throw new AirgapError(e.code, `${exp.dir}/trust.json refused (${e.code}): ${e.message}; is this export from this site's hub?`);
    }
  }
  const trustUpdated = describeTrust(trust).keysVersion !== describeTrust(trusted).keysVersion || trust.root.version !== trusted.root.version;

  const stored = await currentBundle(store.db);
  let version: number;
  let release: { name: string; version: string };
  let artifacts: readonly Artifact[];
  let accepted: boolean;
  if (stored && stored.jws === exp.jws) {
    // The same file imported again: nothing to verify, but finish what an interrupted import may have left.
    ({ version } = stored);
    ({ release, artifacts } = stored.payload);
    accepted = false;
  } else {
    const outcome = await intake.receive(exp.jws, source);
    if (outcome.kind === "rejected") {
      await store.write([journalAppend("airgap-import", { outcome: "refused", code: outcome.code, source })]);
      throw new AirgapError(outcome.code, `bundle refused (${outcome.code}): ${VerifyCodes[outcome.code as VerifyCode] ?? outcome.code}; nothing was applied`);
    }
    ({ version } = outcome);
    ({ release, artifacts } = outcome.payload);
    accepted = true;
  }

  const cacheDir = path.join(config.stateDir, "artifacts");
  const copied: ImportResult["artifacts"] = [];
  for (const a of artifacts) {
    const did = await copyArtifactIntoCache(path.join(exp.dir, artifactPath(a.sha256)), cacheDir, a);
    copied.push({ name: a.name, sha256: a.sha256, size: a.size, copied: did });
  }

  const reconcile = await reconcileOnce(store, events, config, log, artifacts, version);
  await store.write([journalAppend("airgap-import", {
    outcome: accepted ? "accepted" : "already-imported", version, source, trustUpdated,
    artifacts: copied.length, reconciled: reconcile.ran,
  })]);
  return {
    site: trusted.site, bundleVersion: version, release: { name: release.name, version: release.version }, accepted,
    trust: { ...pick(describeTrust(trust)), updated: trustUpdated }, artifacts: copied, reconcile,
  };
}

function pick(t: ReturnType<typeof describeTrust>) { return { rootVersion: t.rootVersion, keysVersion: t.keysVersion }; }

/**
 * Every artifact the bundle claims must be in the export before the bundle is taken in, or the
 * site would accept a bundle it cannot apply. The claim is read unverified here; the copy later
 * checks each file against the VERIFIED bundle's digest and size.
 */
function checkArtifactsPresent(exp: ExportDir): void {
  let claimed: { name?: unknown; sha256?: unknown; size?: unknown }[] = [];
  try {
    const payload = JSON.parse(new TextDecoder().decode(base64url.decode(exp.jws.split(".")[1] ?? ""))) as { artifacts?: unknown };
    if (Array.isArray(payload.artifacts)) claimed = payload.artifacts as typeof claimed;
  } catch { return; /* not even decodable: the intake refuses it with its own code */ }
  for (const a of claimed) {
    if (typeof a.sha256 !== "string") continue;
    const listed = exp.manifest.files[artifactPath(a.sha256)];
    if (!listed) throw new AirgapError("EXPORT_INCOMPLETE", `the bundle needs artifact ${String(a.name)} (${a.sha256}) but the export does not carry it`);
  }
}

async function reconcileOnce(
  store: Store, events: Events, config: AgentConfig, log: Logger, artifacts: readonly Artifact[], version: number,
): Promise<ImportResult["reconcile"]> {
  const pid = await runningAgentPid(store.db);
  if (pid !== null) {
    return { ran: false, reason: `the agent (pid ${pid}) runs on this state directory: it applies bundle v${version} on its next heal tick` };
  }
  // No network path: an artifact missing from the cache is an error to report, not a download to try.
  const offline = {
    artifact: async (sha256: string): Promise<Response> => {
      throw new HubError(0, "AIRGAPPED", `artifact ${sha256} is not in the local cache and this import does not reach the hub: bring it in the export`);
    },
  };
  const drivers = await createDrivers(config, store, {
    artifacts: createArtifactCache({ stateDir: config.stateDir, client: offline, log }),
    currentArtifacts: () => artifacts,
    log,
  });
  const reconciler = new Reconciler({
    store, drivers, events, log, signal: new AbortController().signal,
    stepMaxAttempts: config.stepMaxAttempts,
    stepRetry: { baseMs: config.stepRetryBaseMs, capMs: Math.max(config.stepRetryBaseMs, 30_000) },
    quarantine: { baseMs: config.quarantineBaseSeconds * 1000, capMs: config.quarantineCapSeconds * 1000 },
  });
  const r = await reconciler.runOnce();
  // The agent's reporter is not running: queue the status the hub should learn from the next reports file.
  await enqueue(store, [makeReport({ kind: "status", body: await buildStatusBody(store.db) })], config.outboxMax);
  const rec = await readReconcileRecord(store.db);
  return { ran: true, kind: r.kind, steps: r.steps, done: r.done, pending: r.pending, state: rec.state };
}
