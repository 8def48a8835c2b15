import { describe, expect, it } from "vitest";
import { importPrivate, importPublic, newKeyPair } from "../trust/keys.ts";
import { parseReportsFile, signReportsFile, verifyReportsFile, type ReportsFile } from "./reports-file.ts";

const item = { id: "01J0000000000000000000000A", at: "2025-01-01T00:00:00.000Z", kind: "event" as const, body: { type: "applied" as const, severity: "info" as const, message: "ok" } };

async function signed(site = "island-1") {
  const kp = await newKeyPair();
  const file = await signReportsFile({ site, createdAt: new Date().toISOString(), reports: [item] }, await importPrivate(kp.privateJwk), kp.kid);
  return { kp, file, pub: await importPublic(kp.publicJwk) };
}

const tamper = (f: ReportsFile, edit: (p: { reports: { at: string }[]; site: string }) => void): ReportsFile => {
  const [h, p, s] = f.jws.split(".") as [string, string, string];
  const payload = JSON.parse(Buffer.from(p, "base64url").toString());
  edit(payload);
  return { ...f, jws: `${h}.${Buffer.from(JSON.stringify(payload)).toString("base64url")}.${s}` };
};

describe("signed reports file", () => {
  it("verifies with the site's key and gives back the reports", async () => {
    const { file, pub } = await signed();
    expect(parseReportsFile(JSON.parse(JSON.stringify(file)))).toEqual(file);
    expect((await verifyReportsFile(file, "island-1", pub)).reports).toEqual([item]);
  });

  it("refuses a changed report (REPORTS_FILE_BAD_SIGNATURE)", async () => {
    const { file, pub } = await signed();
    await expect(verifyReportsFile(tamper(file, (p) => { p.reports[0]!.at = "2020-01-01T00:00:00.000Z"; }), "island-1", pub))
      .rejects.toMatchObject({ code: "REPORTS_FILE_BAD_SIGNATURE" });
  });

  it("refuses a file signed by another key, and another site's file", async () => {
    const { file } = await signed();
    const other = await newKeyPair();
    await expect(verifyReportsFile(file, "island-1", await importPublic(other.publicJwk))).rejects.toMatchObject({ code: "REPORTS_FILE_BAD_SIGNATURE" });
    const { file: f2, pub: p2 } = await signed("island-2");
    await expect(verifyReportsFile(f2, "island-1", p2)).rejects.toMatchObject({ code: "REPORTS_FILE_WRONG_SITE" });
  });

  it("names what is wrong with something that is not a reports file", () => {
    expect(() => parseReportsFile({ reports: [] })).toThrow(/REPORTS|format/);
    try { parseReportsFile({ format: "x" }); } catch (e) { expect((e as { code: string }).code).toBe("REPORTS_FILE_MALFORMED"); }
  });
});
