import { mkdirSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Spec, type SpecInput } from "@outpost/shared";
import { createLxdDriver } from "../agent/src/drivers/lxd/driver.ts";
import { createOvnDriver } from "../agent/src/drivers/ovn/driver.ts";
import { createSimDrivers } from "../agent/src/drivers/sim/driver.ts";
import { SIM_SCHEMA } from "../agent/src/drivers/sim/tables.ts";
import type { Driver } from "../agent/src/drivers/types.ts";
import { orderSteps } from "../agent/src/reconcile/order.ts";
import { openStore } from "../agent/src/store/db.ts";
import { buildBusyboxImage, cleanupLxd, ensureLxd, importImage } from "../test/daemons/lxd.ts";
import * as ovn from "../test/daemons/ovn.ts";
import { argValue, machine } from "./lib.ts";

const PREFIX = "obench-";

/** The site: 20 instances, 10 networks (OVN logical switches, 2 ports each) and 50 ACLs. */
function benchSpec(instances: number, alias: string): Spec {
  const spec: SpecInput = {
    lxd: {
      profiles: [{ name: `${PREFIX}app`, config: { "limits.memory": "64MiB" } }],
      instances: Array.from({ length: instances }, (_, i) => ({
        name: `${PREFIX}c${i + 1}`, image: { alias }, profiles: ["default", `${PREFIX}app`], config: { "user.role": "bench" },
      })),
    },
    ovn: {
      switches: Array.from({ length: 10 }, (_, s) => ({
        name: `${PREFIX}ls${s}`, subnet: `10.${s}.0.0/24`,
        ports: [1, 2].map((p) => ({ name: `${PREFIX}ls${s}-p${p}`, addresses: [`00:00:00:00:${s.toString(16).padStart(2, "0")}:0${p} 10.${s}.0.${10 + p}`] })),
      })),
      portGroups: Array.from({ length: 5 }, (_, g) => ({
        name: `obench_pg${g}`,
        ports: [`${PREFIX}ls${g * 2}-p1`, `${PREFIX}ls${g * 2 + 1}-p1`],
        acls: Array.from({ length: 10 }, (_, a) => ({ direction: "to-lport" as const, priority: 1000 + a, match: `tcp.dst == ${8000 + a}`, action: "allow-related" as const })),
      })),
    },
  };
  return Spec.parse(spec);
}

interface Pass { ms: number; steps: number; failed: number }

async function pass(drivers: Driver[], spec: Spec): Promise<Pass> {
  const t = performance.now();
  const steps = [];
  for (const d of drivers) steps.push(...d.plan(spec, await d.observe()));
  let failed = 0;
  const byDriver = new Map(drivers.map((d) => [d.name, d]));
  for (const s of orderSteps(steps)) {
    try { await byDriver.get(s.driver)!.apply(s); } catch (e) { failed++; console.error(`  step ${s.id} failed: ${(e as Error).message}`); }
  }
  return { ms: performance.now() - t, steps: steps.length, failed };
}

async function noop(drivers: Driver[], spec: Spec, runs = 5): Promise<{ ms: number; steps: number }> {
  const times: number[] = []; let steps = 0;
  for (let i = 0; i < runs; i++) {
    const t = performance.now();
    steps = 0;
    for (const d of drivers) steps += d.plan(spec, await d.observe()).length;
    times.push(performance.now() - t);
  }
  times.sort((a, b) => a - b);
  return { ms: times[Math.floor(runs / 2)]!, steps };
}

/**
 * `pnpm bench reconcile`: converge one site from empty to the bundle above, then time a no-op
 * pass (observe + plan), on the simulation and on the real LXD (containers) + OVN Northbound.
 * The simulation is the baseline: the ratio is what talking to the real daemons costs.
 */
export async function benchReconcile(args: string[]): Promise<void> {
  const instances = argValue(args, "instances", 20);
  const dir = mkdtempSync(join(tmpdir(), "outpost-bench-reconcile-"));
  const alias = `${PREFIX}busybox`;
  const spec = benchSpec(instances, alias);
  const empty = Spec.parse({});
  console.log(`bench reconcile: ${machine()}; ${instances} containers, 10 OVN switches (20 ports), 5 port groups with 50 ACLs`);

  mkdirSync(join(dir, "sim"));
  const store = await openStore(join(dir, "sim"), { schema: SIM_SCHEMA });
  const sim = createSimDrivers(store, { stepDelayMs: 0, fail: [] }).filter((d) => d.name === "lxd" || d.name === "ovn");
  const simUp = await pass(sim, spec);
  const simNoop = await noop(sim, spec);
  store.close();

  await ensureLxd();
  await cleanupLxd(PREFIX);
  const image = await buildBusyboxImage(join(dir, "image"));
  await importImage(image.path, { aliases: [alias], properties: { name: alias } });
  const nb = await ovn.start();
  const lxd = createLxdDriver({ artifacts: { fetch: async () => { throw new Error("the bench uses an image alias"); } }, currentArtifacts: () => [], stopTimeoutSeconds: 0 });
  const ovnDriver = createOvnDriver({ remote: nb.nbRemote });
  const real: Driver[] = [ovnDriver, lxd];
  try {
    const realUp = await pass(real, spec);
    const realNoop = await noop(real, spec);
    const realDown = await pass(real, empty);
    const row = (name: string, up: Pass, n: { ms: number; steps: number }) =>
      console.log(`  ${name.padEnd(30)} converge ${(up.ms / 1000).toFixed(2).padStart(7)} s  ${String(up.steps).padStart(4)} steps  ${up.failed} failed   no-op pass ${n.ms.toFixed(1).padStart(7)} ms (${n.steps} steps)`);
    row("baseline  sim (LXD + OVN)", simUp, simNoop);
    row("real      LXD + OVN NB", realUp, realNoop);
    console.log(`  ratio real / sim: converge ${(realUp.ms / simUp.ms).toFixed(1)}x, no-op pass ${(realNoop.ms / simNoop.ms).toFixed(1)}x`);
    console.log(`  (tear-down back to empty on the real daemons: ${(realDown.ms / 1000).toFixed(2)} s, ${realDown.steps} steps)`);
  } finally {
    ovnDriver.close();
    await nb.stop();
    await cleanupLxd(PREFIX);
    rmSync(dir, { recursive: true, force: true });
  }
}
