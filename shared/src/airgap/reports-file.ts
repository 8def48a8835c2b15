import { CompactSign, compactVerify, decodeProtectedHeader, type CryptoKey } from "jose";
import { z } from "zod";
import { SiteName } from "../bundle/names.ts";
import { ReportItem } from "../protocol/agent.ts";

/**
 * A site's reports carried to the hub by a person (`outpost agent export-reports` ->
 * `outpost reports import`). Over the network every report batch rides on a request the agent signs;
 * a file has no request, so the file signs itself: a compact JWS over `{site, createdAt, reports}`
 * made with the agent's own key (the one its request tokens use), which the hub checks against the
 * key it approved for that site before storing anything.
 *
 * The outer `site` and `count` are for people and for finding the key; only the signed payload counts.
 */
export const REPORTS_FILE_FORMAT = "outpost-reports/v1";
export const REPORTS_FILE_TYP = "outpost-reports+jws";
/** The outbox holds at most 10 000 by default; a file may carry a few outboxes' worth, never unbounded. */
export const MAX_REPORTS_PER_FILE = 100_000;

export const ReportsFilePayload = z.strictObject({
  site: SiteName,
  createdAt: z.iso.datetime(),
  reports: z.array(ReportItem).min(1).max(MAX_REPORTS_PER_FILE),
});
export type ReportsFilePayload = z.output<typeof ReportsFilePayload>;

export const ReportsFile = z.strictObject({
  format: z.literal(REPORTS_FILE_FORMAT),
  site: SiteName,
  count: z.number().int().min(1),
  jws: z.string().min(1),
});
export type ReportsFile = z.output<typeof ReportsFile>;

export type ReportsFileCode = "REPORTS_FILE_MALFORMED" | "REPORTS_FILE_BAD_SIGNATURE" | "REPORTS_FILE_WRONG_SITE";
export class ReportsFileError extends Error {
  constructor(readonly code: ReportsFileCode, message: string) { super(message); this.name = "ReportsFileError"; }
}

const enc = new TextEncoder();
const dec = new TextDecoder();

export async function signReportsFile(payload: z.input<typeof ReportsFilePayload>, key: CryptoKey, kid: string): Promise<ReportsFile> {
  const body = ReportsFilePayload.parse(payload);
  const jws = await new CompactSign(enc.encode(JSON.stringify(body)))
    .setProtectedHeader({ alg: "EdDSA", kid, typ: REPORTS_FILE_TYP })
    .sign(key);
  return { format: REPORTS_FILE_FORMAT, site: body.site, count: body.reports.length, jws };
}

/** Reads the outer envelope only: which site the file claims to be from (to look up its key). */
export function parseReportsFile(raw: unknown): ReportsFile {
  const r = ReportsFile.safeParse(raw);
  if (!r.success) {
    const i = r.error.issues[0];
    throw new ReportsFileError("REPORTS_FILE_MALFORMED", `not an Outpost reports file (${REPORTS_FILE_FORMAT}): ${i ? `${i.path.join(".") || "(file)"}: ${i.message}` : "invalid"}`);
  }
  return r.data;
}

/**
 * Verifies a reports file against the site's approved public key. A changed byte anywhere in the
 * signed part fails the signature; a valid file of another site is refused by name.
 */
export async function verifyReportsFile(file: ReportsFile, site: string, key: CryptoKey): Promise<ReportsFilePayload> {
  let header;
  try { header = decodeProtectedHeader(file.jws); } catch { throw new ReportsFileError("REPORTS_FILE_MALFORMED", "jws is not a compact JWS"); }
  if (header.alg !== "EdDSA" || header.typ !== REPORTS_FILE_TYP) {
    throw new ReportsFileError("REPORTS_FILE_MALFORMED", `jws header must be alg EdDSA, typ ${REPORTS_FILE_TYP}`);
  }
  let bytes: Uint8Array;
  try {
    ({ payload: bytes } = await compactVerify(file.jws, key, { algorithms: ["EdDSA"] }));
  } catch {
    throw new ReportsFileError("REPORTS_FILE_BAD_SIGNATURE", `the reports file is not signed by site ${site}'s approved key (tampered with, or from another agent)`);
  }
  let raw: unknown;
  try { raw = JSON.parse(dec.decode(bytes)); } catch { throw new ReportsFileError("REPORTS_FILE_MALFORMED", "signed payload is not JSON"); }
  const parsed = ReportsFilePayload.safeParse(raw);
  if (!parsed.success) {
    const i = parsed.error.issues[0];
    throw new ReportsFileError("REPORTS_FILE_MALFORMED", `signed payload: ${i ? `${i.path.join(".")}: ${i.message}` : "invalid"}`);
  }
  if (parsed.data.site !== site || file.site !== site) {
    throw new ReportsFileError("REPORTS_FILE_WRONG_SITE", `the file says site ${file.site}, its signed payload ${parsed.data.site}; expected ${site}`);
  }
  return parsed.data;
}
