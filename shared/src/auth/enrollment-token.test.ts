import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { makeTrustFixture } from "../trust/test-fixtures.ts";
import { pinRoot } from "../trust/verify.ts";
import { formatEnrollmentToken, parseEnrollmentToken, type EnrollmentToken } from "./enrollment-token.ts";

const hash = "0123456789abcdef".repeat(4);
const good: EnrollmentToken = { rootHash: hash, id: "a1b2c3d4", secret: "S3cr3t_with-dashes_0123" };

describe("enrollment token", () => {
  it("format -> parse round-trips", () => {
    const s = formatEnrollmentToken(good);
    expect(s).toBe(`opt1.${hash}.a1b2c3d4.S3cr3t_with-dashes_0123`);
    expect(parseEnrollmentToken(s)).toEqual(good);
  });

  it("tolerates the whitespace of a copy-paste", () => {
    expect(parseEnrollmentToken(`  ${formatEnrollmentToken(good)}\n`)).toEqual(good);
  });

  it("round-trips any well-formed token", () => {
    const chars = (alphabet: string, min: number, max: number) => fc.string({ unit: fc.constantFrom(...alphabet), minLength: min, maxLength: max });
    fc.assert(fc.property(
      chars("0123456789abcdef", 64, 64), chars("abcdefghijklmnopqrstuvwxyz0123456789", 8, 32),
      chars("ABCXYZabcxyz0189_-", 20, 128),
      (rootHash, id, secret) => { expect(parseEnrollmentToken(formatEnrollmentToken({ rootHash, id, secret }))).toEqual({ rootHash, id, secret }); },
    ));
  });

  it.each([
    ["empty", ""],
    ["wrong prefix", `opt2.${hash}.a1b2c3d4.S3cr3t_with-dashes_0123`],
    ["no prefix", `${hash}.a1b2c3d4.S3cr3t_with-dashes_0123`],
    ["uppercase hash", `opt1.${hash.toUpperCase()}.a1b2c3d4.S3cr3t_with-dashes_0123`],
    ["short hash", `opt1.${hash.slice(1)}.a1b2c3d4.S3cr3t_with-dashes_0123`],
    ["long hash", `opt1.${hash}0.a1b2c3d4.S3cr3t_with-dashes_0123`],
    ["id too short", `opt1.${hash}.a1b2c3d.S3cr3t_with-dashes_0123`],
    ["id too long", `opt1.${hash}.${"a".repeat(33)}.S3cr3t_with-dashes_0123`],
    ["uppercase id", `opt1.${hash}.A1B2C3D4.S3cr3t_with-dashes_0123`],
    ["secret too short", `opt1.${hash}.a1b2c3d4.${"s".repeat(19)}`],
    ["secret too long", `opt1.${hash}.a1b2c3d4.${"s".repeat(129)}`],
    ["secret with a dot", `opt1.${hash}.a1b2c3d4.S3cr3t.with-dots_01234`],
    ["secret with base64 padding", `opt1.${hash}.a1b2c3d4.S3cr3t_with-dashes_0123==`],
    ["missing secret", `opt1.${hash}.a1b2c3d4`],
    ["embedded newline", `opt1.${hash}.a1b2c3d4.S3cr3t_with\n-dashes_0123`],
  ])("refuses a token with %s, saying what a token looks like", (_, s) => {
    expect(() => parseEnrollmentToken(s)).toThrow(/opt1\.<root-hash>\.<id>\.<secret>/);
  });

  it("the pinned hash in a token is what pinRoot checks the served root against", async () => {
    const t = await makeTrustFixture();
    const token = parseEnrollmentToken(formatEnrollmentToken({ rootHash: t.rootHash, id: "tok12345", secret: "x".repeat(32) }));
    expect(pinRoot(t.rootJws, token.rootHash)).toEqual(t.rootDoc);
    const other = await makeTrustFixture();
    expect(() => pinRoot(other.rootJws, token.rootHash)).toThrow(expect.objectContaining({ code: "ROOT_HASH_MISMATCH" }));
  });
});
