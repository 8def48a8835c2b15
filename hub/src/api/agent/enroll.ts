import { eq, and, gt } from "drizzle-orm";
import type { Hono } from "hono";
import { ulid } from "ulid";
import { EnrollRequest, parseEnrollmentToken, type EnrollResponse, type SiteStatus } from "@outpost/shared";
import { sha256Hex, sameDigest } from "../../auth/secrets.ts";
import { enrollmentTokens, sites } from "../../db/schema.ts";
import type { HubDeps, HubEnv } from "../deps.ts";
import { HttpError } from "../errors.ts";
import { readJson } from "../input.ts";

/**
 * POST /agent/v1/enroll: a bootstrap token plus the agent's public key make a site (pending, or
 * approved when the token says so). Re-enrolling with the same key is idempotent, so an agent
 * whose first answer was lost can simply retry. A site an operator removed comes back only with a
 * new key (and a token of its project): the old key stays refused.
 */
export function registerEnroll(app: Hono<HubEnv>, deps: HubDeps): void {
  app.post("/enroll", async (c) => {
    const req = await readJson(c, EnrollRequest);
    let token;
    try { token = parseEnrollmentToken(req.token); } catch (e) {
      throw new HttpError(401, "ENROLL_TOKEN_INVALID", (e as Error).message);
    }
    const now = deps.now();
    const result = await deps.hub.transaction(async (tx) => {
      const [row] = await tx.select().from(enrollmentTokens).where(eq(enrollmentTokens.id, token.id)).limit(1);
      // Unknown id and wrong secret look the same from outside.
      if (!row || !sameDigest(row.secretHash, sha256Hex(token.secret))) {
        throw new HttpError(401, "ENROLL_TOKEN_INVALID", "enrollment token not recognised");
      }
      if (!(await deps.keys.rootHashes(tx)).includes(token.rootHash)) {
        throw new HttpError(401, "ENROLL_ROOT_MISMATCH", "the token pins a root this hub never had: it was made by another hub, or tampered with");
      }
      const [existing] = await tx.select().from(sites).where(eq(sites.name, req.site)).limit(1);
      // The same key again is a retry: its current status, even revoked (a removed site's key never comes back).
      if (existing?.publicKey.x === req.publicKey.x) return { status: 200 as const, body: { site: existing.name, status: existing.status } };
      // A removed (revoked) site may come back under its name with a new key and a token of its project.
      if (existing && (existing.status !== "revoked" || existing.projectId !== row.projectId)) {
        throw new HttpError(409, "SITE_EXISTS", `a site named '${req.site}' is already enrolled with another key`);
      }
      if (row.expiresAt.getTime() <= now.getTime()) throw new HttpError(401, "ENROLL_TOKEN_EXPIRED", "enrollment token has expired");
      const spent = await tx.update(enrollmentTokens).set({ usesLeft: row.usesLeft - 1 })
        .where(and(eq(enrollmentTokens.id, row.id), gt(enrollmentTokens.usesLeft, 0))).returning({ id: enrollmentTokens.id });
      if (!spent.length) throw new HttpError(401, "ENROLL_TOKEN_USED_UP", "enrollment token has no uses left");
      const status: SiteStatus = row.autoApprove ? "approved" : "pending";
      const enrolled = {
        // The token's labels win: an agent must not talk itself into another region or tier.
        labels: { ...req.labels, ...row.labels },
        publicKey: { kty: "OKP" as const, crv: "Ed25519" as const, x: req.publicKey.x },
        status, approvedAt: row.autoApprove ? now : null,
      };
      if (existing) {
        // Its history (bundles, reports) stays; what the old agent last said about itself does not.
        await tx.update(sites).set({ ...enrolled, state: null, stale: false, appliedVersion: null, reportedRelease: null, statusAt: null })
          .where(eq(sites.id, existing.id));
      } else {
        await tx.insert(sites).values({ id: ulid(), projectId: row.projectId, name: req.site, ...enrolled, createdAt: now });
      }
      deps.logger.info({ site: req.site, status, tokenId: row.id, reenrolled: Boolean(existing) }, "site enrolled");
      return { status: 201 as const, body: { site: req.site, status } };
    });
    return c.json(result.body satisfies EnrollResponse, result.status);
  });
}
