import type { Hono } from "hono";
import { CreateTokenRequest, formatEnrollmentToken } from "@outpost/shared";
import { randomBase64url, randomId, sha256Hex } from "../../auth/secrets.ts";
import { enrollmentTokens } from "../../db/schema.ts";
import type { HubDeps, HubEnv } from "../deps.ts";
import { readJson } from "../input.ts";

/**
 * POST /api/v1/tokens: a bootstrap token for the request's project `opt1.<root hash>.<id>.<secret>`, returned this once.
 * It pins the root that is current now; the agent walks forward from it through later rotations.
 */
export function registerTokens(app: Hono<HubEnv>, deps: HubDeps): void {
  app.post("/tokens", async (c) => {
    const req = await readJson(c, CreateTokenRequest);
    const now = deps.now();
    const id = randomId(16);
    const secret = randomBase64url(32);
    const expiresAt = new Date(now.getTime() + req.expiresInHours * 3600_000);
    const { hash } = await deps.keys.currentRoot();
    await deps.hub.write((db) => db.insert(enrollmentTokens).values({
      id, projectId: c.get("project").id, secretHash: sha256Hex(secret), labels: req.labels,
      autoApprove: req.autoApprove, usesLeft: req.uses, expiresAt, createdAt: now,
    }));
    deps.logger.info({ tokenId: id, uses: req.uses, autoApprove: req.autoApprove }, "enrollment token created");
    return c.json({ id, token: formatEnrollmentToken({ rootHash: hash, id, secret }), expiresAt: expiresAt.toISOString(), uses: req.uses }, 201);
  });
}
