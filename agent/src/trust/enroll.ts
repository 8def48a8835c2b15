import type { Logger } from "pino";
import { z } from "zod";
import {
  HubError, parseEnrollmentToken, pinRoot, rootHash, updateTrust, VerifyError,
  type AgentClient, type TrustState,
} from "@outpost/shared";
import type { AgentConfig } from "../config.ts";
import type { Identity } from "../identity/keypair.ts";
import type { Events } from "../report/events.ts";
import type { Store } from "../store/db.ts";
import { journalAppend } from "../store/journal.ts";
import { KV, kvGet, kvSet } from "../store/kv.ts";
import { describeTrust, loadTrust, saveTrust } from "./trust-store.ts";

/**
 * First start (DESIGN §2-3): pin the hub's root by the hash the enrollment token carries, take the
 * keys document under it, then register this site's public key with the hub. The trust state is
 * stored before the enroll call so a crash in between never leaves the agent trusting nothing.
 */
export const EnrollmentRecord = z.object({
  status: z.enum(["attempting", "pending", "approved", "revoked"]),
  at: z.string(),
});
export type EnrollmentRecord = z.output<typeof EnrollmentRecord>;

/** Enrollment cannot succeed by retrying (bad token, wrong root, name taken): the operator must act. */
export class EnrollError extends Error {
  readonly permanent = true;
  constructor(message: string) { super(message); this.name = "EnrollError"; }
}

export async function readEnrollment(store: Pick<Store, "db">): Promise<EnrollmentRecord | null> {
  const r = EnrollmentRecord.safeParse(await kvGet(store.db, KV.enrollment));
  return r.success ? r.data : null;
}

export function isEnrolled(rec: EnrollmentRecord | null): boolean {
  return !!rec && rec.status !== "attempting";
}

export interface EnrollDeps {
  store: Store;
  client: AgentClient;
  identity: Identity;
  config: Pick<AgentConfig, "site" | "enrollToken" | "labels">;
  events: Events;
  log: Logger;
}

/**
 * Makes sure the site is enrolled. Throws EnrollError when only a person can fix it, HubError
 * (transient or not) when the hub could not be asked: the caller retries those with backoff.
 */
export async function ensureEnrolled(d: EnrollDeps): Promise<"already" | "enrolled"> {
  let trust = await loadTrust(d.store.db);
  const previous = await readEnrollment(d.store);
  if (trust && trust.site !== d.config.site) {
    throw new EnrollError(`this state directory belongs to site ${trust.site}, not ${d.config.site}; use its own state directory per site`);
  }
  if (trust && isEnrolled(previous)) return "already";
  if (!d.config.enrollToken) {
    throw new EnrollError("this site is not enrolled yet: set an enrollment token (OUTPOST_ENROLL_TOKEN, from `outpost token create`)");
  }
  let token;
  try { token = parseEnrollmentToken(d.config.enrollToken); } catch (e) { throw new EnrollError((e as Error).message); }

  if (!trust) {
    const served = await d.client.keys();
    const root = served.roots.find((r) => rootHash(r) === token.rootHash);
    if (!root) throw new EnrollError(`the hub at ${d.client.baseUrl} does not serve the root this enrollment token pins (ROOT_HASH_MISMATCH): wrong hub, or a token from another hub`);
    const now = new Date();
    let state: TrustState;
    try {
      state = await updateTrust({ site: d.config.site, root: pinRoot(root, token.rootHash), keys: null, bundleVersion: 0 }, served, now);
    } catch (e) {
      if (e instanceof VerifyError) throw new EnrollError(`the hub's trust documents do not verify (${e.code}): ${e.message}`);
      throw e;
    }
    await d.store.write([
      saveTrust(state),
      kvSet(KV.enrollment, { status: "attempting", at: now.toISOString() } satisfies EnrollmentRecord),
      journalAppend("enrollment", { step: "root-pinned", ...describeTrust(state) }),
    ]);
    trust = state;
    d.log.info(describeTrust(state), "pinned the hub's root from the enrollment token");
  }

  let status: EnrollmentRecord["status"];
  try {
    const res = await d.client.enroll({ token: d.config.enrollToken, site: d.config.site, publicKey: d.identity.publicJwk, labels: d.config.labels });
    status = res.status;
  } catch (e) {
    if (e instanceof HubError && e.status === 409) {
      // The hub answers a repeated enrollment with the same key as a success (so a retry after a
      // lost answer or a crash is harmless); 409 means another key already owns this site name.
      throw new EnrollError(`the hub already has a site named ${d.config.site} enrolled with another key (${e.code}): pick another name, or remove the old site on the hub`);
    } else if (e instanceof HubError && (e.status === 401 || e.status === 400 || e.status === 403)) {
      throw new EnrollError(`the hub refused the enrollment (${e.code}): ${e.message}`);
    } else throw e;
  }
  await d.events.emit(
    { type: "enrolled", message: `enrolled with the hub as ${d.config.site} (${status})`, details: { status, keyId: d.identity.kid } },
    [kvSet(KV.enrollment, { status, at: new Date().toISOString() } satisfies EnrollmentRecord)],
  );
  return "enrolled";
}
