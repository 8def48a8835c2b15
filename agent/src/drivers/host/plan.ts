/**
 * The host driver's decisions, pure (no I/O).
 *
 * Objects (the same shapes objects/desired.ts builds from the spec):
 * - `host.package` <name> {version}: one per installed package. A package dpkg left half-way
 *   (half-configured, unpacked, ...) reads {version, state}, so it differs from the spec and the
 *   next install step repairs it.
 * - `host.security-updates` "unattended-upgrades" {enabled: true}: security upgrades are applied.
 *   While some are pending it reads {enabled: true, pending: ["pkg=version", ...]}, which plans an
 *   update step that installs exactly those.
 *
 * Rules on top of the shared diff:
 * - Only what the spec names is compared. A package dropped from the spec is never uninstalled
 *   (removing packages from a host is how sites break); Outpost just stops managing it. The same
 *   for security updates switched off: nothing to undo.
 * - A version pinned in the spec wins over a security upgrade of the same package: the spec is
 *   the explicit choice, and applying both would flip the package back and forth every pass.
 * - dpkg never prints a zero epoch: "0:1.2" in a spec means "1.2".
 */
import type { Spec } from "@outpost/shared";
import { OUTPOST_OWNER, desiredObjects, type DesiredObject, type SiteObject } from "../objects/desired.ts";
import { planObjects } from "../objects/plan.ts";
import type { Step } from "../types.ts";
import type { DpkgEntry } from "./apt.ts";

export const SECURITY_OBJECT = "unattended-upgrades";

export interface HostObserved {
  objects: SiteObject[];
}

/**
 * What apt says about security upgrades: the pending ones ("pkg=version"), or why it could not
 * tell (a host with broken dependencies). The error reads as a difference from the spec, so the
 * site shows a failing step with apt's message instead of looking up to date.
 */
export type SecurityState = { pending: readonly string[] } | { error: string };

export function hostObjects(installed: Iterable<DpkgEntry>, security: SecurityState): SiteObject[] {
  const objects: SiteObject[] = [];
  for (const p of installed) {
    objects.push({ kind: "host.package", name: p.name, fields: p.state === "installed" ? { version: p.version } : { version: p.version, state: p.state }, owner: OUTPOST_OWNER });
  }
  objects.push({ kind: "host.security-updates", name: SECURITY_OBJECT, fields: securityFields(security), owner: OUTPOST_OWNER });
  return objects;
}

function securityFields(s: SecurityState): Record<string, unknown> {
  if ("error" in s) return { enabled: true, error: s.error };
  return s.pending.length ? { enabled: true, pending: [...s.pending] } : { enabled: true };
}

const pkgName = (entry: string) => entry.slice(0, entry.indexOf("="));

/** "0:1.2" -> "1.2": how dpkg prints it. */
export function dpkgVersion(v: string): string {
  return v.startsWith("0:") ? v.slice(2) : v;
}

export function planHost(spec: Spec, observed: HostObserved): Step[] {
  const desired: DesiredObject[] = desiredObjects(spec, "host").map((d) =>
    d.kind === "host.package" ? { ...d, fields: { ...d.fields, version: dpkgVersion(String(d.fields.version)) } } : d);
  const wanted = new Set(desired.map((d) => `${d.kind}\u0000${d.name}`));
  const pinned = new Set(spec.host.packages.map((p) => p.name));
  const objects = observed.objects
    .filter((o) => wanted.has(`${o.kind}\u0000${o.name}`))
    .map((o) => {
      if (o.kind !== "host.security-updates") return o;
      if (typeof o.fields.error === "string") return o;
      const pending = Array.isArray(o.fields.pending) ? (o.fields.pending as string[]) : [];
      return { ...o, fields: securityFields({ pending: pending.filter((e) => !pinned.has(pkgName(e))) }) };
    });
  return planObjects("host", desired, { objects });
}
