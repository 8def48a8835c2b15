import type { Logger } from "pino";
import { base64url } from "jose";
import {
  updateTrust, verifyBundle, VerifyError, type BundlePayload, type TrustBundle, type TrustState, type VerifyCode,
} from "@outpost/shared";
import { sha256Hex } from "../lib/canonical-json.ts";
import type { Events } from "../report/events.ts";
import { bundleInsert } from "../store/bundles.ts";
import type { Store } from "../store/db.ts";
import { journalAppend, journalRecent } from "../store/journal.ts";
import { describeTrust, loadTrust, saveTrust } from "./trust-store.ts";

/**
 * Where every bundle enters the agent, whatever transport brought it. It runs shared's
 * verifyBundle against the stored trust state and then either
 * - accepts: the bundle and the advanced trust state are stored in ONE transaction together with
 *   the bundle-received event, and the reconciler is woken; or
 * - refuses: nothing is stored or applied; one bundle-rejected event (with the VerifyError code)
 *   and its journal row record it. The same JWS is reported once, not on every poll.
 *
 * A bundle signed by a key the agent does not know yet (or needing a newer keys document) triggers
 * one refresh of the keys document from the hub before it is judged.
 */
export type IntakeOutcome =
  | { kind: "accepted"; version: number; payload: BundlePayload }
  | { kind: "rejected"; code: VerifyCode; repeated: boolean };

const REFRESH_CODES: ReadonlySet<VerifyCode> = new Set(["BUNDLE_KEYS_VERSION", "BUNDLE_UNKNOWN_KEY"]);
const REMEMBERED_REJECTIONS = 256;

/** The version a JWS claims, read WITHOUT verification: only used to label a rejection report. */
function claimedVersion(jws: string): number | undefined {
  try {
    const v = (JSON.parse(new TextDecoder().decode(base64url.decode(jws.split(".")[1] ?? ""))) as { version?: unknown }).version;
    return Number.isInteger(v) && (v as number) >= 0 ? (v as number) : undefined;
  } catch { return undefined; }
}

export class BundleIntake {
  /** sha256 -> code of refused JWSs (insertion order = age); seeded from the journal so a restart does not re-report. */
  private readonly rejected = new Map<string, VerifyCode>();
  private seeded = false;

  constructor(private readonly o: {
    store: Store; events: Events; log: Logger;
    /** Fetches the trust bundle (GET /agent/v1/keys); errors propagate to the caller (retry later). */
    fetchKeys: () => Promise<TrustBundle>;
    onAccepted: (version: number) => void;
  }) {}

  private async seed(): Promise<void> {
    if (this.seeded) return;
    const rows = await journalRecent(this.o.store.db, { limit: REMEMBERED_REJECTIONS, typePrefix: "event:bundle-rejected" });
    for (const r of rows.reverse()) {
      const h = (r.detail.details as { jwsSha256?: unknown } | undefined)?.jwsSha256;
      if (typeof h === "string") this.rejected.set(h, r.detail.code as VerifyCode);
    }
    this.seeded = true;
  }

  private remember(hash: string, code: VerifyCode): void {
    this.rejected.set(hash, code);
    for (const oldest of this.rejected.keys()) {
      if (this.rejected.size <= REMEMBERED_REJECTIONS) break;
      this.rejected.delete(oldest);
    }
  }

  /** Refreshes the trust state from fetchKeys (the hub, or an air-gap export); stores it (and reports keys-updated) only when it changed. */
  async refreshTrust(state: TrustState, now: Date): Promise<TrustState> {
    const next = await updateTrust(state, await this.o.fetchKeys(), now);
    const before = describeTrust(state);
    const after = describeTrust(next);
    if (before.rootVersion === after.rootVersion && before.keysVersion === after.keysVersion) return state;
    // The new keys document was verified on its own (root threshold, expiry, no rollback), so it is
    // kept even if the bundle that prompted the refresh is then refused.
    await this.o.events.emit(
      { type: "keys-updated", message: `trust updated: root v${after.rootVersion}, keys v${after.keysVersion}`, details: { from: before, to: after } },
      [saveTrust(next), journalAppend("trust-updated", { from: before, to: after })],
    );
    return next;
  }

  async receive(jws: string, source: string): Promise<IntakeOutcome> {
    await this.seed();
    const hash = sha256Hex(jws);
    const known = this.rejected.get(hash);
    // Refused for good (bad signature, expired, rollback, wrong site...): the same bytes can never
    // pass, so skip the work. Refused for want of keys: the hub may publish them later, so re-check.
    if (known && !REFRESH_CODES.has(known)) return { kind: "rejected", code: known, repeated: true };
    const now = new Date();
    const state = await loadTrust(this.o.store.db);
    if (!state) throw new Error("cannot accept bundles before enrollment (no trust state)");
    let trust = state;
    let result: Awaited<ReturnType<typeof verifyBundle>> | null = null;
    let failure: VerifyError | null = null;
    try {
      result = await verifyBundle(trust, jws, now);
    } catch (e) {
      if (!(e instanceof VerifyError)) throw e;
      failure = e;
      if (REFRESH_CODES.has(e.code)) {
        try {
          trust = await this.refreshTrust(trust, now);
          result = await verifyBundle(trust, jws, now);
          failure = null;
        } catch (e2) {
          if (!(e2 instanceof VerifyError)) throw e2; // hub unreachable: decide on the next delivery
          failure = e2;
        }
      }
    }

    if (result) {
      const { payload } = result;
      await this.o.events.emit(
        {
          type: "bundle-received", bundleVersion: payload.version,
          message: `accepted bundle v${payload.version} (${payload.release.name} ${payload.release.version}) via ${source}`,
          details: { release: payload.release, kid: result.kid, expiresAt: payload.expiresAt, jwsSha256: hash },
        },
        [...bundleInsert(payload.version, jws, payload, now), saveTrust(result.state),
          journalAppend("bundle-accepted", { version: payload.version, kid: result.kid, source, jwsSha256: hash })],
      );
      this.o.onAccepted(payload.version);
      return { kind: "accepted", version: payload.version, payload };
    }

    const err = failure!;
    if (known) {
      this.o.log.debug({ code: err.code }, "the hub is still offering a bundle already refused");
      return { kind: "rejected", code: err.code, repeated: true };
    }
    this.remember(hash, err.code);
    const version = claimedVersion(jws);
    await this.o.events.emit({
      type: "bundle-rejected", severity: "error", code: err.code,
      ...(version !== undefined ? { bundleVersion: version } : {}),
      message: `refused bundle${version !== undefined ? ` v${version}` : ""} via ${source}: ${err.message}`.slice(0, 4096),
      details: { jwsSha256: hash, trusted: describeTrust(trust) },
    });
    return { kind: "rejected", code: err.code, repeated: false };
  }
}
