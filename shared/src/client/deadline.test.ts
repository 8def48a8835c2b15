import { setFlagsFromString } from "node:v8";
import { runInNewContext } from "node:vm";
import { describe, expect, it } from "vitest";
import { deadline } from "./deadline.ts";

// A real full GC on demand (the known way to reach gc() without starting node with --expose-gc).
setFlagsFromString("--expose-gc");
const gc = runInNewContext("gc") as () => void;

describe("deadline", () => {
  it("aborts with a TimeoutError after its time, even when nothing else holds it and the heap is collected", async () => {
    const outer = new AbortController();
    // Only the signal is kept, as a request keeps it: not the deadline object.
    const { signal } = deadline(200, outer.signal);
    const aborted = new Promise<unknown>((resolve) => {
      signal.addEventListener("abort", () => resolve(signal.reason), { once: true });
      setTimeout(() => resolve(new Error("no abort 2 s after a 200 ms deadline")), 2_000).unref();
    });
    // What AbortSignal.any([outer, AbortSignal.timeout()]) lost on Node 20: garbage made while it waits.
    for (let i = 0; i < 20; i++) { gc(); const junk = Array.from({ length: 20_000 }, (_, j) => ({ j })); junk.length = 0; await new Promise((r) => setTimeout(r, 15)); }
    const reason = await aborted;
    expect((reason as Error).name).toBe("TimeoutError");
  });

  it("says when it was its own deadline that aborted", async () => {
    const d = deadline(20, new AbortController().signal);
    await new Promise((r) => setTimeout(r, 60));
    expect(d.signal.aborted).toBe(true);
    expect(d.timedOut).toBe(true);
  });

  it("follows the outer signal, and says it was not its own deadline", () => {
    const outer = new AbortController();
    const d = deadline(60_000, outer.signal);
    outer.abort(new Error("stopping"));
    expect(d.signal.aborted).toBe(true);
    expect((d.signal.reason as Error).message).toBe("stopping");
    expect(d.timedOut).toBe(false);
    d.clear();
  });

  it("clear() cancels the timer: the signal never aborts", async () => {
    const d = deadline(30);
    d.clear();
    await new Promise((r) => setTimeout(r, 80));
    expect(d.signal.aborted).toBe(false);
  });
});
