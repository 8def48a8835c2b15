import { and, asc, eq, gt, inArray, sql } from "drizzle-orm";
import { ulid } from "ulid";
import {
  parseSelector, SelectorError,
  type CreateRolloutRequest, type RolloutAction, type RolloutEventView, type RolloutSiteView, type RolloutView,
  type SiteProgressState, type Strategy,
} from "@outpost/shared";
import type { z } from "zod";
import type { CreateRolloutRequest as CreateSchema } from "@outpost/shared";
import type { HubDeps } from "../api/deps.ts";
import { HttpError } from "../api/errors.ts";
import { issueBundles, setAssignments } from "../bundles/issue.ts";
import { selectSites } from "../bundles/plan.ts";
import type { Queryable } from "../db/client.ts";
import { DEFAULT_PROJECT } from "../db/migrate.ts";
import { assignments, releases, rolloutEvents, rollouts, rolloutSites, sites, type RolloutRow } from "../db/schema.ts";
import { operatorAction, type ActionRollout } from "./actions.ts";
import { applyDecision, evaluate, type Decision, type EngineRollout, type EngineSite } from "./engine.ts";
import { planWaves } from "./plan.ts";
import { describeWaiting, estimateEta, waveViews } from "./progress.ts";
import { cronError, timezoneFromLabel } from "./windows.ts";

/**
 * The rollout engine's I/O: rows in, decisions out, each batch of decisions in ONE transaction
 * that first checks the rollout row is the one the decisions were made on (`rev`) and, for the
 * scheduler, that the lease is still held. Everything the engine knows is in the database, so a
 * hub killed at any point resumes from exactly what was committed, and a site is started at most
 * once: its rollout_sites row moves pending -> in-progress under that same check.
 */
export type RolloutDeps = Pick<HubDeps, "hub" | "keys" | "notifier" | "bundleTtlHours" | "now">;
type CreateInput = z.output<typeof CreateSchema>;

export const OPERATOR = "operator";
/** Rows per multi-row statement: well under SQLite's bound-parameter limit. */
const CHUNK = 400;

class Stale extends Error { constructor(m: string) { super(m); this.name = "Stale"; } }

export interface LoadedSite extends EngineSite { name: string; finishedAt: Date | null; rollbackVersion: number | null }
export interface Loaded { row: RolloutRow; release: { name: string; version: string }; engine: EngineRollout; sites: LoadedSite[] }

// --- create and operator actions ---------------------------------------------------------------

export async function createRollout(deps: RolloutDeps, req: CreateInput, projectId: string = DEFAULT_PROJECT): Promise<RolloutView> {
  checkSelector(req.selector);
  req.strategy.windows.forEach((w, i) => {
    const err = cronError(w.cron);
    if (err) throw new HttpError(400, "VALIDATION", `invalid request body: strategy.windows.${i}.cron: ${err}`, [{ path: `strategy.windows.${i}.cron`, message: err }]);
  });
  const now = deps.now();
  const id = ulid();
  await deps.hub.transaction(async (tx) => {
    const [release] = await tx.select().from(releases).where(and(
      eq(releases.projectId, projectId), eq(releases.name, req.release.name), eq(releases.version, req.release.version),
    )).limit(1);
    if (!release) throw new HttpError(404, "RELEASE_NOT_FOUND", `no release ${req.release.name}@${req.release.version}`, [{ path: "release", message: "no such release" }]);
    await tx.insert(rollouts).values({
      id, projectId, releaseId: release.id, selector: req.selector, strategy: req.strategy, status: "created",
      pauseReason: null, waveSizes: [], waveTargets: [], currentWave: -1, waveState: "done", waveChangedAt: null,
      approvedWave: -1, waivedWave: -1, rev: 0, createdAt: now,
    });
    await insertEvents(tx, id, now, OPERATOR, [{ type: "created", details: { release: req.release, selector: req.selector } }]);
  });
  return (await rolloutView(deps.hub.db, id, now))!;
}

function checkSelector(selector: string): void {
  try { parseSelector(selector); } catch (e) {
    if (e instanceof SelectorError) throw new HttpError(400, "SELECTOR", `bad selector: ${e.message}`, [{ path: "selector", message: e.message }]);
    throw e;
  }
}

const toAction = (row: RolloutRow): ActionRollout => ({
  status: row.status, pauseReason: row.pauseReason ?? null, currentWave: row.currentWave, waveState: row.waveState,
  waveChangedAt: row.waveChangedAt ?? null, approvedWave: row.approvedWave, waivedWave: row.waivedWave,
  waveCount: row.waveSizes.length, approval: row.strategy.approval,
});

/** start | pause | resume | approve | abort | rollback, as one transaction; 404 / 409 change nothing. */
export async function rolloutAction(deps: RolloutDeps, id: string, action: RolloutAction): Promise<RolloutView> {
  const now = deps.now();
  const woken = await deps.hub.transaction(async (tx) => {
    const row = await findRollout(tx, id);
    const result = operatorAction(toAction(row), action, now);
    if (!result.ok) throw new HttpError(409, result.code, result.message);
    const next = result.next;
    const update: Partial<RolloutRow> = {
      status: next.status, pauseReason: next.pauseReason, currentWave: next.currentWave, waveState: next.waveState,
      waveChangedAt: next.waveChangedAt, approvedWave: next.approvedWave, waivedWave: next.waivedWave,
    };
    let woken: { site: string; version: number }[] = [];
    const details: Record<string, unknown> = {};
    if (action === "start") {
      const plan = await planRollout(tx, row);
      Object.assign(update, { waveSizes: plan.waves.map((w) => w.length), waveTargets: plan.targets, startedAt: now });
      Object.assign(details, { sites: plan.sites, waves: plan.waves.map((w, i) => ({ target: plan.targets[i], size: w.length })), ...(plan.badTimezones.length ? { badTimezones: plan.badTimezones } : {}) });
    }
    if (action === "resume" && row.pauseReason === "wave-failed") details.waivedWave = row.currentWave;
    if (action === "approve") details.wave = next.approvedWave;
    if (next.status === "aborted" || next.status === "rolled-back") update.finishedAt = now;
    await bumpRollout(tx, row, update);
    const type = ({ start: "started", pause: "paused", resume: "resumed", approve: "approved", abort: "aborted", rollback: "rollback-requested" } as const)[action];
    await insertEvents(tx, id, now, OPERATOR, [{ type, wave: action === "approve" ? next.approvedWave : null, details }]);
    if (action === "rollback") woken = await rollBack(deps, tx, row, now, OPERATOR);
    return woken;
  }).catch((e: unknown) => {
    // Write transactions are serialised, so this only happens if the rows moved under us anyway.
    if (e instanceof Stale) throw new HttpError(409, "ROLLOUT_CHANGED", "the rollout changed while this action ran; look again and retry");
    throw e;
  });
  for (const w of woken) deps.notifier.publish(w.site, w.version);
  return (await rolloutView(deps.hub.db, id, deps.now()))!;
}

/** Fixes the rollout's sites and waves at start: the approved sites the selector matches now. */
async function planRollout(tx: Queryable, row: RolloutRow) {
  const candidates = await tx.select({ id: sites.id, name: sites.name, labels: sites.labels, status: sites.status })
    .from(sites).where(eq(sites.projectId, row.projectId)).orderBy(sites.name);
  const matched = selectSites(row.selector, candidates);
  if (matched.length === 0) throw new HttpError(409, "NO_SITES", `no approved site matches '${row.selector}': nothing to roll out to`);
  // One rollout per site at a time: two would fight over its bundle and each judge the other's version.
  const busy = await tx.select({ name: sites.name }).from(rolloutSites)
    .innerJoin(rollouts, eq(rollouts.id, rolloutSites.rolloutId)).innerJoin(sites, eq(sites.id, rolloutSites.siteId))
    .where(and(inArray(rollouts.status, ["running", "paused"]), inArray(rolloutSites.state, ["pending", "in-progress"]))).limit(100_000);
  const busyNames = new Set(busy.map((b) => b.name));
  const clash = matched.filter((s) => busyNames.has(s.name)).map((s) => s.name);
  if (clash.length) throw new HttpError(409, "SITES_IN_ANOTHER_ROLLOUT", `${clash.length} matched site(s) are still in another active rollout (${clash.slice(0, 5).join(", ")}${clash.length > 5 ? ", ..." : ""}); finish, abort or roll it back first`);

  const strategy = row.strategy;
  const placed = matched.map((s) => ({ id: s.id, name: s.name, group: strategy.groupBy ? (s.labels[strategy.groupBy] ?? "") : "", labels: s.labels }));
  const plan = planWaves(placed, strategy.waves);
  const byId = new Map(placed.map((s) => [s.id, s]));
  const badTimezones: string[] = [];
  const values = plan.waves.flatMap((ids, wave) => ids.map((siteId, position) => {
    const s = byId.get(siteId)!;
    const tz = timezoneFromLabel(s.labels[strategy.timezoneLabel]);
    if (tz === null) badTimezones.push(s.name);
    return {
      rolloutId: row.id, siteId, wave, position, group: s.group,
      // "" marks a label that names no zone: that site's windows never count as open (see engine).
      timezone: tz === undefined ? null : tz ?? "", state: "pending" as const,
    };
  }));
  for (let i = 0; i < values.length; i += CHUNK) await tx.insert(rolloutSites).values(values.slice(i, i + CHUNK));
  return { waves: plan.waves, targets: plan.targets, sites: matched.length, badTimezones };
}

// --- the engine's side -------------------------------------------------------------------------

export function toEngine(row: RolloutRow): EngineRollout {
  return {
    status: row.status, strategy: row.strategy, waveSizes: row.waveSizes, currentWave: row.currentWave, waveState: row.waveState,
    waveChangedAt: row.waveChangedAt ?? null, approvedWave: row.approvedWave, waivedWave: row.waivedWave,
  };
}

/** Ids of the rollouts the engine still has work on. */
export async function activeRolloutIds(q: Queryable): Promise<string[]> {
  const rows = await q.select({ id: rollouts.id }).from(rollouts).where(inArray(rollouts.status, ["running", "paused"])).orderBy(rollouts.createdAt);
  return rows.map((r) => r.id);
}

/** A rollout with every one of its sites and what each last reported: the engine's whole input. */
export async function loadRollout(q: Queryable, id: string): Promise<Loaded | null> {
  const [head] = await q.select({ row: rollouts, name: releases.name, version: releases.version }).from(rollouts)
    .innerJoin(releases, eq(releases.id, rollouts.releaseId)).where(eq(rollouts.id, id)).limit(1);
  if (!head) return null;
  const rows = await q.select({
    id: rolloutSites.siteId, name: sites.name, wave: rolloutSites.wave, group: rolloutSites.group, timezone: rolloutSites.timezone,
    state: rolloutSites.state, bundleVersion: rolloutSites.bundleVersion, startedAt: rolloutSites.startedAt, finishedAt: rolloutSites.finishedAt,
    rollbackVersion: rolloutSites.rollbackVersion, appliedVersion: sites.appliedVersion, health: sites.state,
  }).from(rolloutSites).innerJoin(sites, eq(sites.id, rolloutSites.siteId))
    .where(eq(rolloutSites.rolloutId, id)).orderBy(asc(rolloutSites.wave), asc(rolloutSites.position));
  return { row: head.row, release: { name: head.name, version: head.version }, engine: toEngine(head.row), sites: rows };
}

export interface ApplyResult { applied: boolean; reason?: string; started: number }

/**
 * Carries out one tick's decisions for one rollout, atomically. `fence` (the lease check) and the
 * rev check run first inside the transaction: if either fails, nothing is written and the next
 * tick decides again from fresh rows.
 */
export async function applyDecisions(deps: RolloutDeps, loaded: Loaded, decisions: readonly Decision[], actor: string, now: Date,
  fence?: (tx: Queryable) => Promise<boolean>): Promise<ApplyResult> {
  if (decisions.length === 0) return { applied: true, started: 0 };
  const names = new Map(loaded.sites.map((s) => [s.id, s]));
  let woken: { site: string; version: number }[] = [];
  let started = 0;
  try {
    woken = await deps.hub.transaction(async (tx) => {
      if (fence && !(await fence(tx))) throw new Stale("lease lost");
      const [row] = await tx.select().from(rollouts).where(eq(rollouts.id, loaded.row.id)).limit(1);
      if (!row || row.rev !== loaded.row.rev) throw new Stale("rollout changed since it was read");
      const r = toEngine(row);
      for (const d of decisions) applyDecision(r, new Map(), d, now);
      const failed = decisions.find((d) => d.type === "fail-wave");
      await bumpRollout(tx, row, {
        status: r.status, currentWave: r.currentWave, waveState: r.waveState, waveChangedAt: r.waveChangedAt,
        ...(failed && r.status === "paused" ? { pauseReason: "wave-failed" as const } : {}),
        ...(r.status === "completed" || r.status === "rolled-back" ? { finishedAt: now } : {}),
      });
      const out: { site: string; version: number }[] = [];
      const ev: EventInput[] = [];
      for (const d of decisions) {
        switch (d.type) {
          case "mark-sites": {
            for (let i = 0; i < d.sites.length; i += CHUNK) {
              await tx.update(rolloutSites).set({ state: d.outcome, finishedAt: now }).where(and(
                eq(rolloutSites.rolloutId, row.id), inArray(rolloutSites.siteId, d.sites.slice(i, i + CHUNK)), inArray(rolloutSites.state, ["in-progress", "succeeded"]),
              ));
            }
            for (const id of d.sites) {
              const s = names.get(id);
              ev.push({ type: `site-${d.outcome}`, wave: d.wave, site: s?.name ?? id, group: s?.group ?? null, details: { bundleVersion: s?.bundleVersion ?? null, appliedVersion: s?.appliedVersion ?? null, health: s?.health ?? null } });
            }
            break;
          }
          case "start-sites": {
            const got = await startSites(deps, tx, row, d.wave, d.sites, now, ev);
            started += got.length;
            out.push(...got);
            break;
          }
          case "begin-wave":
            ev.push({ type: "wave-started", wave: d.wave, details: { size: row.waveSizes[d.wave] ?? 0 } });
            break;
          case "complete-wave":
            ev.push({ type: d.waived ? "wave-ended-waived" : "wave-succeeded", wave: d.wave, details: { succeeded: d.succeeded, size: d.size } });
            if (row.strategy.approval === "manual" && d.wave < row.waveSizes.length - 1) ev.push({ type: "awaiting-approval", wave: d.wave + 1, details: {} });
            break;
          case "fail-wave":
            ev.push({ type: "wave-failed", wave: d.wave, details: { action: d.action, succeeded: d.succeeded, failed: d.failed, timedOut: d.timedOut, size: d.size, threshold: row.strategy.successThreshold } });
            break;
          case "finish":
            ev.push({ type: "completed", details: {} });
            break;
        }
      }
      await insertEvents(tx, row.id, now, actor, ev);
      if (failed && r.status === "rolled-back") out.push(...await rollBack(deps, tx, row, now, actor));
      return out;
    });
  } catch (e) {
    if (e instanceof Stale) return { applied: false, reason: e.message, started: 0 };
    throw e;
  }
  for (const w of woken) deps.notifier.publish(w.site, w.version);
  return { applied: true, started };
}

/**
 * Sends a wave to some of its sites: each gets its own new signed bundle of the rollout's release
 * (the same path as an assignment) and the assignment moves; its row moves pending -> in-progress
 * only if it was still pending, else the whole tick is undone (a site never gets a wave twice).
 */
async function startSites(deps: RolloutDeps, tx: Queryable, row: RolloutRow, wave: number, ids: readonly string[], now: Date, ev: EventInput[]) {
  const [release] = await tx.select().from(releases).where(eq(releases.id, row.releaseId)).limit(1);
  if (!release) throw new Error(`rollout ${row.id}: release ${row.releaseId} is gone`);
  const key = await deps.keys.activeBundleKey(tx);
  const ctx = { key, now, ttlHours: deps.bundleTtlHours };
  const out: { site: string; version: number }[] = [];
  for (let i = 0; i < ids.length; i += CHUNK) {
    const chunk = ids.slice(i, i + CHUNK);
    const siteRows = await tx.select({ id: sites.id, name: sites.name, status: sites.status, group: rolloutSites.group })
      .from(sites).innerJoin(rolloutSites, and(eq(rolloutSites.siteId, sites.id), eq(rolloutSites.rolloutId, row.id)))
      .where(inArray(sites.id, chunk));
    const prev = new Map((await tx.select().from(assignments).where(inArray(assignments.siteId, chunk))).map((a) => [a.siteId, a.releaseId]));
    const byId = new Map(siteRows.map((s) => [s.id, s]));
    const sending: typeof siteRows = [];
    for (const id of chunk) {
      const site = byId.get(id);
      if (!site) throw new Error(`rollout ${row.id}: site ${id} is not part of it`);
      if (site.status === "approved") { sending.push(site); continue; }
      // Revoked since the plan was made: it can fetch nothing, so it fails now instead of timing out.
      const res = await tx.update(rolloutSites).set({ state: "failed", startedAt: now, finishedAt: now })
        .where(and(eq(rolloutSites.rolloutId, row.id), eq(rolloutSites.siteId, id), eq(rolloutSites.state, "pending")));
      if (res.rowsAffected !== 1) throw new Stale(`site ${site.name} was not pending`);
      ev.push({ type: "site-failed", wave, site: site.name, group: site.group, details: { reason: `site is ${site.status}` } });
    }
    const versions = await issueBundles(tx, ctx, sending, release);
    for (const site of sending) {
      const version = versions.get(site.id)!;
      const res = await tx.update(rolloutSites).set({ state: "in-progress", startedAt: now, bundleVersion: version, previousReleaseId: prev.get(site.id) ?? null })
        .where(and(eq(rolloutSites.rolloutId, row.id), eq(rolloutSites.siteId, site.id), eq(rolloutSites.state, "pending")));
      if (res.rowsAffected !== 1) throw new Stale(`site ${site.name} was not pending`);
      ev.push({ type: "site-started", wave, site: site.name, group: site.group, details: { bundleVersion: version } });
      out.push({ site: site.name, version });
    }
    await setAssignments(tx, sending.map((s) => s.id), release.id, now);
  }
  return out;
}

/**
 * Roll back = every site the rollout touched (started) gets a NEW, higher bundle version carrying
 * the release it had before, and that becomes its assignment again. A site that had none has
 * nothing to go back to: it keeps what it has and the history says so.
 */
async function rollBack(deps: RolloutDeps, tx: Queryable, row: RolloutRow, now: Date, actor: string) {
  const touched = await tx.select({ siteId: rolloutSites.siteId, name: sites.name, group: rolloutSites.group, wave: rolloutSites.wave, previous: rolloutSites.previousReleaseId })
    .from(rolloutSites).innerJoin(sites, eq(sites.id, rolloutSites.siteId))
    .where(and(eq(rolloutSites.rolloutId, row.id), sql`${rolloutSites.startedAt} IS NOT NULL`, sql`${rolloutSites.rollbackVersion} IS NULL`))
    .orderBy(asc(rolloutSites.wave), asc(rolloutSites.position));
  const prevIds = [...new Set(touched.map((t) => t.previous).filter((p): p is string => p !== null))];
  const prevReleases = new Map((prevIds.length ? await tx.select().from(releases).where(inArray(releases.id, prevIds)) : []).map((r) => [r.id, r]));
  const key = await deps.keys.activeBundleKey(tx);
  const ctx = { key, now, ttlHours: deps.bundleTtlHours };
  // One batch of bundles per release the sites go back to.
  const versions = new Map<string, number>();
  for (const release of prevReleases.values()) {
    const back = touched.filter((t) => t.previous === release.id).map((t) => ({ id: t.siteId, name: t.name }));
    for (const [id, v] of await issueBundles(tx, ctx, back, release)) versions.set(id, v);
    await setAssignments(tx, back.map((b) => b.id), release.id, now);
  }
  const out: { site: string; version: number }[] = [];
  const ev: EventInput[] = [];
  for (const t of touched) {
    const release = t.previous ? prevReleases.get(t.previous) : undefined;
    if (!release) {
      ev.push({ type: "site-rollback-skipped", wave: t.wave, site: t.name, group: t.group, details: { reason: "the site had no release before this rollout" } });
      continue;
    }
    const version = versions.get(t.siteId)!;
    await tx.update(rolloutSites).set({ rollbackVersion: version }).where(and(eq(rolloutSites.rolloutId, row.id), eq(rolloutSites.siteId, t.siteId)));
    ev.push({ type: "site-rolled-back", wave: t.wave, site: t.name, group: t.group, details: { bundleVersion: version, release: `${release.name}@${release.version}` } });
    out.push({ site: t.name, version });
  }
  ev.push({ type: "rolled-back", details: { sites: out.length, skipped: touched.length - out.length } });
  await insertEvents(tx, row.id, now, actor, ev);
  return out;
}

// --- rows and events -----------------------------------------------------------------------------

async function findRollout(q: Queryable, id: string): Promise<RolloutRow> {
  const [row] = await q.select().from(rollouts).where(eq(rollouts.id, id)).limit(1);
  if (!row) throw new HttpError(404, "ROLLOUT_NOT_FOUND", `no rollout '${id}'`);
  return row;
}

/** Every write to a rollout row bumps rev, conditionally on the rev it read: a lost race writes nothing. */
async function bumpRollout(tx: Queryable, row: RolloutRow, set: Partial<RolloutRow>): Promise<void> {
  const res = await tx.update(rollouts).set({ ...set, rev: row.rev + 1 }).where(and(eq(rollouts.id, row.id), eq(rollouts.rev, row.rev)));
  if (res.rowsAffected !== 1) throw new Stale("rollout changed since it was read");
}

interface EventInput { type: string; wave?: number | null; site?: string | null; group?: string | null; details: Record<string, unknown> }

async function insertEvents(tx: Queryable, rolloutId: string, at: Date, actor: string, events: readonly EventInput[]): Promise<void> {
  const values = events.map((e) => ({ rolloutId, at, type: e.type, wave: e.wave ?? null, site: e.site ?? null, group: e.group ?? null, actor, details: e.details }));
  for (let i = 0; i < values.length; i += CHUNK) await tx.insert(rolloutEvents).values(values.slice(i, i + CHUNK));
}

// --- views ---------------------------------------------------------------------------------------

export function viewOf(l: Loaded, now: Date): RolloutView {
  const { row } = l;
  const waves = waveViews({ ...l.engine, targets: row.waveTargets }, l.sites);
  const c = { total: l.sites.length, pending: 0, inProgress: 0, succeeded: 0, failed: 0, timedOut: 0 };
  for (const w of waves) { c.pending += w.pending; c.inProgress += w.inProgress; c.succeeded += w.succeeded; c.failed += w.failed; c.timedOut += w.timedOut; }
  const waiting = row.status === "running" || row.status === "paused" ? evaluate(l.engine, l.sites, now).waiting : null;
  const eta = row.status === "completed" ? row.finishedAt ?? null : estimateEta(l.engine, row.startedAt ?? null, l.sites, now);
  return {
    id: row.id, release: l.release, selector: row.selector, strategy: row.strategy as Strategy, status: row.status,
    pauseReason: row.pauseReason ?? null, currentWave: row.currentWave, waves, sites: c,
    waitingFor: describeWaiting(waiting), eta: eta?.toISOString() ?? null,
    createdAt: row.createdAt.toISOString(), startedAt: row.startedAt?.toISOString() ?? null, finishedAt: row.finishedAt?.toISOString() ?? null,
  };
}

export async function rolloutView(q: Queryable, id: string, now: Date): Promise<RolloutView | null> {
  const l = await loadRollout(q, id);
  return l ? viewOf(l, now) : null;
}

/** A project's rollouts (every project's when none is given: the engine's view, not an operator's). */
export async function listRolloutViews(q: Queryable, now: Date, projectId?: string): Promise<RolloutView[]> {
  const ids = await q.select({ id: rollouts.id }).from(rollouts).where(projectId === undefined ? undefined : eq(rollouts.projectId, projectId)).orderBy(asc(rollouts.createdAt), asc(rollouts.id));
  const out: RolloutView[] = [];
  for (const { id } of ids) { const v = await rolloutView(q, id, now); if (v) out.push(v); }
  return out;
}

export async function listRolloutEvents(q: Queryable, id: string, after: number, limit: number): Promise<RolloutEventView[]> {
  await findRollout(q, id);
  const rows = await q.select().from(rolloutEvents).where(and(eq(rolloutEvents.rolloutId, id), gt(rolloutEvents.id, after)))
    .orderBy(asc(rolloutEvents.id)).limit(limit);
  return rows.map((e) => ({ id: e.id, at: e.at.toISOString(), type: e.type, wave: e.wave ?? null, site: e.site ?? null, group: e.group ?? null, actor: e.actor, details: e.details }));
}

export async function listRolloutSites(q: Queryable, id: string, filter: { state?: SiteProgressState; wave?: number }): Promise<RolloutSiteView[]> {
  const l = await loadRollout(q, id);
  if (!l) throw new HttpError(404, "ROLLOUT_NOT_FOUND", `no rollout '${id}'`);
  return l.sites.filter((s) => (filter.state === undefined || s.state === filter.state) && (filter.wave === undefined || s.wave === filter.wave))
    .map((s) => ({
      site: s.name, wave: s.wave, group: s.group, state: s.state, bundleVersion: s.bundleVersion, rollbackVersion: s.rollbackVersion,
      startedAt: s.startedAt?.toISOString() ?? null, finishedAt: s.finishedAt?.toISOString() ?? null,
    }));
}

export type { CreateRolloutRequest };
