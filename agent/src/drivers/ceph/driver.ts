/**
 * The Ceph driver: pools and RBD images of the site's cluster, through the `ceph`, `rbd` and `rados`
 * CLIs (JSON output). Decisions live in plan.ts (pure); this file only observes and carries steps out.
 * See normalize.ts for the ownership marks and plan.ts for what is refused to protect data.
 *
 * Shutdown: a step is a handful of sub-second CLI calls (create, enable the application, mark it
 * Outpost's). The abort signal is honoured before a step starts, never between its calls, so a
 * stopping agent cannot leave a pool created but unmarked (which it would then treat as foreign).
 */
import type { Logger } from "pino";
import type { Spec } from "@outpost/shared";
import type { SiteObject } from "../objects/desired.ts";
import type { Driver, Step } from "../types.ts";
import { CephCli, CephCommandError, type CephCliOptions } from "./cli.ts";
import { healthMetrics, parseHealth, type CephHealth } from "./health.ts";
import {
  imageMetaOwned, imageObjects, OWNED_KEY, poolApplication, poolObject, poolOwned,
  type CephObserved, type PoolDetail, type RbdListEntry,
} from "./normalize.ts";
import { isHousekeepingObject, planCeph, poolDeletionRefusal, shrinkRefusal, stepRefusal } from "./plan.ts";

export interface CephDriverOptions extends CephCliOptions {
  log?: Pick<Logger, "debug" | "info" | "warn">;
  /** How many rbd processes observe() runs at once (default 8). */
  concurrency?: number;
}

export interface CephDriver extends Driver<CephObserved> {
  /** `ceph health detail`, compacted; feed two successive results to healthEvents(). */
  health(): Promise<CephHealth>;
}

/** A step Outpost will not carry out because it would lose data or take over someone else's object. */
export class CephRefusal extends Error {
  constructor(message: string) {
    super(message);
    this.name = "CephRefusal";
  }
}

interface PoolFields { size: number; pgAutoscale: string; application: string }
interface ImageFields { pool: string; image: string; sizeMiB: number }

const ENOENT = 2;
const EEXIST = 17;
const isExit = (e: unknown, code: number) => e instanceof CephCommandError && e.exitCode === code;

/** At most `n` of the functions given to the returned runner run at once (one budget for nested fan-outs). */
function limiter(n: number): <T>(fn: () => Promise<T>) => Promise<T> {
  let active = 0;
  const waiting: (() => void)[] = [];
  return async (fn) => {
    if (active < n) active++;
    else await new Promise<void>((r) => waiting.push(r)); // the finishing call hands its slot over
    try {
      return await fn();
    } finally {
      const next = waiting.shift();
      if (next) next();
      else active--;
    }
  };
}

export function createCephDriver(opts: CephDriverOptions): CephDriver {
  const cli = new CephCli(opts);
  const log = opts.log;
  const concurrency = opts.concurrency ?? 8;
  /**
   * Objects this process created but may not have marked yet (a step that failed half-way):
   * its retry may finish the job instead of refusing "exists and is not Outpost's".
   */
  const createdHere = new Set<string>();

  const health = async (): Promise<CephHealth> => parseHealth(await cli.cephJson(["health", "detail"]));

  const pools = () => cli.cephJson<PoolDetail[]>(["osd", "pool", "ls", "detail"]);
  const poolDetail = async (name: string) => (await pools()).find((p) => p.pool_name === name);

  async function observeImages(pool: string, limit: ReturnType<typeof limiter>): Promise<SiteObject[]> {
    let entries: RbdListEntry[];
    try {
      entries = (await limit(() => cli.rbdJson<RbdListEntry[] | null>(["ls", "-l", pool]))) ?? [];
    } catch (e) {
      if (isExit(e, ENOENT)) return []; // the pool went away since `osd pool ls`
      throw e;
    }
    const names = [...new Set(entries.filter((e) => e.snapshot === undefined).map((e) => e.image))];
    const owned = new Map<string, boolean>();
    const gone = new Set<string>();
    await Promise.all(names.map(async (image) => {
      try {
        owned.set(image, imageMetaOwned(await limit(() => cli.rbdJson(["image-meta", "list", `${pool}/${image}`]))));
      } catch (e) {
        if (isExit(e, ENOENT)) gone.add(image); // removed meanwhile
        else throw e;
      }
    }));
    return imageObjects(pool, entries.filter((e) => !gone.has(e.image)), (image) => owned.get(image) === true);
  }

  async function setApplication(pool: string, app: string): Promise<void> {
    const apps = (await cli.cephJson<Record<string, Record<string, string>> | null>(["osd", "pool", "application", "get", pool])) ?? {};
    if (!(app in apps)) {
      // `rbd pool init` is how RBD wants a fresh pool prepared (it also enables the application).
      if (app === "rbd" && Object.keys(apps).length === 0) await cli.rbd(["pool", "init", pool]);
      else await cli.ceph(["osd", "pool", "application", "enable", pool, app, "--yes-i-really-mean-it"]);
    }
    // Mark before disabling anything else: the old application may be what carries the mark today.
    if (apps[app]?.[OWNED_KEY] !== "true") await cli.ceph(["osd", "pool", "application", "set", pool, app, OWNED_KEY, "true"]);
    for (const other of Object.keys(apps)) {
      if (other !== app) await cli.ceph(["osd", "pool", "application", "disable", pool, other, "--yes-i-really-mean-it"]);
    }
  }

  /** Sets what differs between `before` (undefined: unknown, set everything) and `after`. */
  async function convergePool(pool: string, before: Partial<PoolFields> | undefined, after: PoolFields): Promise<void> {
    if (before?.size !== after.size) {
      // Size 1 is an explicit choice in the spec; the cluster's `mon allow pool size one` still has the last word.
      await cli.ceph(["osd", "pool", "set", pool, "size", String(after.size), ...(after.size === 1 ? ["--yes-i-really-mean-it"] : [])]);
    }
    if (before?.pgAutoscale !== after.pgAutoscale) await cli.ceph(["osd", "pool", "set", pool, "pg_autoscale_mode", after.pgAutoscale]);
    if (before?.application !== after.application) await setApplication(pool, after.application);
  }

  async function createPool(name: string, f: PoolFields): Promise<void> {
    const existing = await poolDetail(name);
    if (existing && !poolOwned(existing) && !createdHere.has(`pool:${name}`)) {
      throw new CephRefusal(`pool ${name} already exists and is not Outpost's (no ${OWNED_KEY} mark on any of its applications); Outpost does not take over pools it did not create`);
    }
    if (!existing) {
      await cli.ceph(["osd", "pool", "create", name, "--autoscale-mode", f.pgAutoscale, "--size", String(f.size)]);
      createdHere.add(`pool:${name}`);
      await setApplication(name, f.application);
    } else {
      // A retry of ours: finish what the failed attempt left (an unmarked pool always gets its mark).
      const application = poolOwned(existing) ? poolApplication(existing) : undefined;
      await convergePool(name, { size: existing.size, pgAutoscale: existing.pg_autoscale_mode, application }, f);
    }
    createdHere.delete(`pool:${name}`);
  }

  async function deletePool(name: string): Promise<void> {
    const existing = await poolDetail(name);
    if (!existing) return; // already gone: the desired end state
    if (!poolOwned(existing)) throw new CephRefusal(`refusing to delete pool ${name}: it no longer carries Outpost's ${OWNED_KEY} mark`);
    const dataObject = await cli.firstObject(name, (o) => !isHousekeepingObject(o));
    if (dataObject !== undefined) {
      // Only to say what is in there: the objects found are what decides.
      const count = async (args: string[]) => ((await cli.rbdJson<unknown[] | null>(args).catch(() => null)) ?? []).length;
      const [images, trashed] = [await count(["ls", name]), await count(["trash", "ls", name])];
      throw new CephRefusal(poolDeletionRefusal(name, { images, trashed, dataObject })!);
    }
    await cli.ceph(["osd", "pool", "delete", name, name, "--yes-i-really-really-mean-it"]);
    log?.info({ pool: name }, "deleted empty Outpost-owned ceph pool");
  }

  async function imageOwned(spec: string): Promise<boolean | undefined> {
    try {
      return imageMetaOwned(await cli.rbdJson(["image-meta", "list", spec]));
    } catch (e) {
      if (isExit(e, ENOENT)) return undefined;
      throw e;
    }
  }

  /** Grows `spec` to `sizeMiB`; the size is read again first, so a stale plan can never shrink it. */
  async function growImage(spec: string, sizeMiB: number): Promise<void> {
    const info = await cli.rbdJson<{ size: number }>(["info", spec]);
    const current = info.size / (1024 * 1024);
    const refusal = shrinkRefusal(spec, current, sizeMiB);
    if (refusal) throw new CephRefusal(refusal);
    // Never --allow-shrink: rbd itself refuses a smaller size without it, a second line of defence.
    if (current < sizeMiB) await cli.rbd(["resize", "--size", `${sizeMiB}M`, spec]);
  }

  async function createImage(f: ImageFields): Promise<void> {
    const spec = `${f.pool}/${f.image}`;
    try {
      await cli.rbd(["create", "--size", `${f.sizeMiB}M`, spec]);
    } catch (e) {
      if (!isExit(e, EEXIST)) throw e;
      if ((await imageOwned(spec)) !== true && !createdHere.has(`image:${spec}`)) {
        throw new CephRefusal(`RBD image ${spec} already exists and is not Outpost's (no ${OWNED_KEY} image metadata); Outpost does not take over images it did not create`);
      }
      await growImage(spec, f.sizeMiB); // a retry of ours: finish it
    }
    createdHere.add(`image:${spec}`);
    await cli.rbd(["image-meta", "set", spec, OWNED_KEY, "true"]);
    createdHere.delete(`image:${spec}`);
  }

  async function trashImage(spec: string): Promise<void> {
    const owned = await imageOwned(spec);
    if (owned === undefined) return; // already gone
    if (!owned) throw new CephRefusal(`refusing to remove RBD image ${spec}: it no longer carries Outpost's ${OWNED_KEY} metadata`);
    const status = await cli.rbdJson<{ watchers?: { address?: string }[] }>(["status", spec]);
    const watchers = status.watchers ?? [];
    if (watchers.length) {
      throw new CephRefusal(`refusing to remove RBD image ${spec}: it is in use (watchers: ${watchers.map((w) => w.address ?? "?").join(", ")})`);
    }
    // The trash, not `rbd rm`: dropping an image from the spec must stay undoable (`rbd trash restore`).
    await cli.rbd(["trash", "mv", spec]);
    log?.info({ image: spec }, "moved Outpost-owned RBD image to the RBD trash (restore with `rbd trash restore`)");
  }

  return {
    name: "ceph",
    health,

    async observe(): Promise<CephObserved> {
      const [all, h] = await Promise.all([pools(), health()]);
      // Every pool, not only those with the rbd application: `rbd create` works in any pool, and an
      // image the spec puts there must be seen, or each pass would try to create it again.
      const limit = limiter(concurrency);
      const images = await Promise.all(all.map((p) => observeImages(p.pool_name, limit)));
      return { objects: [...all.map(poolObject), ...images.flat()], health: h };
    },

    plan(desired: Spec, observed: CephObserved): Step[] {
      return planCeph(desired, observed);
    },

    async apply(step: Step, signal?: AbortSignal): Promise<void> {
      signal?.throwIfAborted();
      const refusal = stepRefusal(step);
      if (refusal) throw new CephRefusal(refusal);
      const key = `${step.kind}/${step.action}`;
      switch (key) {
        case "ceph.pool/create": return createPool(step.name, step.after as PoolFields);
        case "ceph.pool/update": return convergePool(step.name, step.before as Partial<PoolFields> | undefined, step.after as PoolFields);
        case "ceph.pool/delete": return deletePool(step.name);
        case "ceph.rbd-image/create": return createImage(step.after as ImageFields);
        case "ceph.rbd-image/update": return growImage(step.name, (step.after as ImageFields).sizeMiB);
        case "ceph.rbd-image/delete": return trashImage(step.name);
        default: throw new Error(`the ceph driver cannot ${step.action} a ${step.kind}`);
      }
    },

    metrics(observed: CephObserved): Record<string, number> {
      const m: Record<string, number> = { "ceph.pool.count": 0, "ceph.pool.owned": 0, "ceph.rbd-image.count": 0, "ceph.rbd-image.owned": 0 };
      for (const o of observed.objects) {
        const k = o.kind === "ceph.pool" ? "ceph.pool" : "ceph.rbd-image";
        m[`${k}.count`]! += 1;
        if (o.owner === "outpost") m[`${k}.owned`]! += 1;
      }
      return { ...m, ...healthMetrics(observed.health) };
    },
  };
}
