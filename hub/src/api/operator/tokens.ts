import { and, desc, eq } from "drizzle-orm";
import type { Hono } from "hono";
import { CreateTokenRequest, EnrollmentTokenId, formatEnrollmentToken, type EnrollmentTokenView } from "@outpost/shared";
import { randomBase64url, randomId, sha256Hex } from "../../auth/secrets.ts";
import { enrollmentTokens } from "../../db/schema.ts";
import type { HubDeps, HubEnv } from "../deps.ts";
import { HttpError } from "../errors.ts";
import { readJson, readParam } from "../input.ts";

type TokenRow = typeof enrollmentTokens.$inferSelect;
const view = (r: TokenRow, now: Date): EnrollmentTokenView => ({
  id: r.id, labels: r.labels, autoApprove: r.autoApprove, usesLeft: r.usesLeft, expiresAt: r.expiresAt.toISOString(),
  createdAt: r.createdAt.toISOString(), usable: r.usesLeft > 0 && r.expiresAt.getTime() > now.getTime(),
});

/**
 * GET /api/v1/tokens lists the project's enrollment tokens (never a secret: only hashes are kept);
 * DELETE /api/v1/tokens/:id revokes one by spending its uses, so a leaked token enrolls nobody more.
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

  app.get("/tokens", async (c) => {
    const rows = await deps.hub.db.select().from(enrollmentTokens).where(eq(enrollmentTokens.projectId, c.get("project").id))
      .orderBy(desc(enrollmentTokens.createdAt), desc(enrollmentTokens.id));
    const now = deps.now();
    return c.json({ tokens: rows.map((r) => view(r, now)) });
  });

  app.delete("/tokens/:id", async (c) => {
    const id = readParam(c, "id", EnrollmentTokenId);
    const where = and(eq(enrollmentTokens.id, id), eq(enrollmentTokens.projectId, c.get("project").id));
    const [row] = await deps.hub.write((db) => db.update(enrollmentTokens).set({ usesLeft: 0 }).where(where).returning());
    // Another project's token answers like a missing one.
    if (!row) throw new HttpError(404, "TOKEN_NOT_FOUND", `no enrollment token '${id}' in this project`);
    deps.logger.info({ tokenId: id }, "enrollment token revoked");
    return c.json(view(row, deps.now()));
  });
}
