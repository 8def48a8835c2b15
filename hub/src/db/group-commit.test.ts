import { describe, expect, it } from "vitest";
import fc from "fast-check";
import { GroupCommit } from "./group-commit.ts";

const tick = () => new Promise((r) => setImmediate(r));

describe("group commit", () => {
  it("writes what arrives while a batch is in flight as one next batch, answers in order", async () => {
    const batches: number[][] = [];
    let release!: () => void;
    const gate = new Promise<void>((r) => { release = r; });
    const g = new GroupCommit<number, number>(async (xs) => { batches.push(xs); if (batches.length === 1) await gate; return xs.map((x) => x * 10); });
    const first = g.submit(1);
    await tick(); await tick(); // the first batch [1] is now being written
    const later = [2, 3, 4, 5].map((x) => g.submit(x));
    await tick();
    expect(batches).toEqual([[1]]); // nothing else is written while the first batch holds the writer
    release();
    expect(await first).toBe(10);
    expect(await Promise.all(later)).toEqual([20, 30, 40, 50]);
    expect(batches).toEqual([[1], [2, 3, 4, 5]]);
  });

  it("a batch that fails is written again item by item: only the bad item's caller sees the error", async () => {
    const g = new GroupCommit<number, number>(async (xs) => { if (xs.includes(13)) throw new Error(`unlucky ${xs.join(",")}`); return xs; });
    const results = await Promise.allSettled([1, 13, 2].map((x) => g.submit(x)));
    expect(results.map((r) => r.status)).toEqual(["fulfilled", "rejected", "fulfilled"]);
    expect((results[1] as PromiseRejectedResult).reason.message).toBe("unlucky 13");
  });

  it("property: every submitted item is answered exactly once with its own result", async () => {
    await fc.assert(fc.asyncProperty(fc.array(fc.array(fc.integer({ min: 0, max: 50 }), { maxLength: 20 }), { maxLength: 8 }), async (waves) => {
      let calls = 0;
      const g = new GroupCommit<number, string>(async (xs) => { calls++; await tick(); if (xs.length > 1 && xs.includes(7)) throw new Error("7"); if (xs.length === 1 && xs[0] === 7) throw new Error("7"); return xs.map((x) => `r${x}`); });
      const all: Promise<string>[] = [];
      for (const wave of waves) { for (const x of wave) { const p = g.submit(x); p.catch(() => undefined); all.push(p); } await tick(); }
      const flat = waves.flat();
      const got = await Promise.allSettled(all);
      got.forEach((r, i) => {
        if (flat[i] === 7) expect(r.status).toBe("rejected");
        else expect(r).toEqual({ status: "fulfilled", value: `r${flat[i]}` });
      });
      if (flat.length === 0) expect(calls).toBe(0);
    }), { numRuns: 100 });
  });
});
