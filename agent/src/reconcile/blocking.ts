import type { Step } from "../drivers/types.ts";

/**
 * "The rest of the plan continues when independent": when a step fails, later steps that depend
 * on it are held back for this run instead of being attempted against a half-built site.
 *
 * Drivers refer to other objects by name (an instance lists its profiles, a port group its ports,
 * an RBD image its pool), so a step is taken to depend on a failed one when either names the
 * other anywhere in its before/after fields, or both are about the same object. This over-
 * approximates (a "default" string may match by chance), which only ever holds back more, never less.
 */
function strings(v: unknown, out: Set<string>): Set<string> {
  if (typeof v === "string") out.add(v);
  else if (Array.isArray(v)) for (const x of v) strings(x, out);
  else if (v && typeof v === "object") for (const x of Object.values(v)) strings(x, out);
  return out;
}

function mentions(step: Step, name: string): boolean {
  const s = strings([step.before, step.after], new Set());
  if (s.has(name)) return true;
  // "pool/image" names refer to their pool by the part before the slash.
  for (const x of s) if (x.startsWith(`${name}/`)) return true;
  return false;
}

export function dependsOn(step: Step, failed: Step): boolean {
  if (step.kind === failed.kind && step.name === failed.name) return true;
  return mentions(step, failed.name) || mentions(failed, step.name);
}

export function blockedBy(step: Step, failed: readonly Step[]): Step | undefined {
  return failed.find((f) => dependsOn(step, f));
}
