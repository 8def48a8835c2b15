/**
 * The OVN plan: the shared object planner (drivers/objects/plan.ts) on canonical fields, plus one
 * OVN rule. Pure.
 *
 * The shared planner silently skips a desired object whose name is held by a row Outpost does not
 * own. For OVN that would leave a spec'd switch or port group quietly missing, so the plan keeps a
 * "create" step for it; applying it fails with NameTakenError ("name taken by an object Outpost
 * does not own"), which the reconciler retries, quarantines and reports where an operator sees it.
 * Nothing foreign is ever updated or deleted.
 */
import type { Spec } from "@outpost/shared";
import { makeStep, type Step } from "../types.ts";
import { desiredObjects, OUTPOST_OWNER, type DesiredObject, type ObservedObjects } from "../objects/desired.ts";
import { planObjects } from "../objects/plan.ts";
import { canonicalFields } from "./normalize.ts";

/** desiredObjects(spec, "ovn") with fields in the canonical form normalize() produces. */
export function desiredOvn(spec: Spec): DesiredObject[] {
  return desiredObjects(spec, "ovn").map((d) => ({ ...d, fields: canonicalFields(d.kind, d.fields) }));
}

export function planOvn(spec: Spec, observed: ObservedObjects): Step[] {
  const desired = desiredOvn(spec);
  const steps = planObjects("ovn", desired, observed);
  const key = (kind: string, name: string) => `${kind}\u0000${name}`;
  const foreign = new Set(observed.objects.filter((o) => (o.owner ?? OUTPOST_OWNER) !== OUTPOST_OWNER).map((o) => key(o.kind, o.name)));
  for (const d of desired) {
    if (foreign.has(key(d.kind, d.name))) steps.push(makeStep({ driver: "ovn", kind: d.kind, name: d.name, action: "create", after: d.fields }));
  }
  return steps;
}
