import { sameJson } from "../../lib/canonical-json.ts";
import { makeStep, type DriverName, type Step } from "../types.ts";
import { OUTPOST_OWNER, type DesiredObject, type ObservedObjects } from "./desired.ts";

/**
 * The planner every driver shares: a pure diff of desired objects against observed rows.
 * - missing -> create; different -> update (for an instance whose only difference is its power
 *   state: start or stop, which is what an operator would do, not a rebuild);
 * - observed, Outpost-owned, no longer desired -> delete;
 * - a row owned by someone else is never touched, even when the spec names the same object: the
 *   agent does not take over what it did not create.
 */
export function planObjects(driver: DriverName, desired: readonly DesiredObject[], observed: ObservedObjects): Step[] {
  const key = (kind: string, name: string) => `${kind}\u0000${name}`;
  const have = new Map(observed.objects.filter((o) => o.kind.startsWith(`${driver}.`)).map((o) => [key(o.kind, o.name), o]));
  const want = new Set<string>();
  const steps: Step[] = [];

  for (const d of desired) {
    const k = key(d.kind, d.name);
    want.add(k);
    const o = have.get(k);
    const disruptive = d.disruptive ? { disruptive: true } : {};
    if (!o) {
      steps.push(makeStep({ driver, kind: d.kind, name: d.name, action: "create", after: d.fields, ...disruptive }));
      continue;
    }
    if ((o.owner ?? OUTPOST_OWNER) !== OUTPOST_OWNER || sameJson(o.fields, d.fields)) continue;
    let action: Step["action"] = "update";
    if (d.kind === "lxd.instance") {
      const { state: was, ...restBefore } = o.fields;
      const { state: want_, ...restAfter } = d.fields;
      if (sameJson(restBefore, restAfter) && was !== want_) action = want_ === "stopped" ? "stop" : "start";
    }
    steps.push(makeStep({ driver, kind: d.kind, name: d.name, action, before: o.fields, after: d.fields, ...disruptive }));
  }

  for (const [k, o] of have) {
    if (want.has(k) || (o.owner ?? OUTPOST_OWNER) !== OUTPOST_OWNER) continue;
    steps.push(makeStep({ driver, kind: o.kind, name: o.name, action: "delete", before: o.fields }));
  }
  return steps;
}
