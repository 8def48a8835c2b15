/**
 * A bootstrap token carries the root hash the agent must pin, like kubeadm's CA-cert hash, so a
 * site that enrolls over an untrusted network still ends up trusting only the real hub's root:
 *   opt1.<root sha256 hex>.<token id>.<secret>
 */
const RE = /^opt1\.([a-f0-9]{64})\.([a-z0-9]{8,32})\.([A-Za-z0-9_-]{20,128})$/;

export interface EnrollmentToken { rootHash: string; id: string; secret: string }

export function formatEnrollmentToken(t: EnrollmentToken): string { return `opt1.${t.rootHash}.${t.id}.${t.secret}`; }

export function parseEnrollmentToken(s: string): EnrollmentToken {
  const m = RE.exec(s.trim());
  if (!m) throw new Error("enrollment token must look like opt1.<root-hash>.<id>.<secret> (as printed by `outpost token create`)");
  return { rootHash: m[1]!, id: m[2]!, secret: m[3]! };
}
