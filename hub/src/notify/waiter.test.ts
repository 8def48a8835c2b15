import { describe, expect, it } from "vitest";
import { LocalNotifier } from "./local.ts";
import { BundleWaiter } from "./waiter.ts";

describe("BundleWaiter over LocalNotifier", () => {
  it("wakes on a publish for its own site only", async () => {
    const n = new LocalNotifier();
    const w = new BundleWaiter(n, "a");
    const pending = w.wait(5000, []);
    n.publish("b", 1);
    n.publish("a", 2);
    expect(await pending).toBe("notified");
    w.dispose();
    expect(n.listenerCount("a")).toBe(0);
  });

  it("does not miss a publish that happened before wait() (subscribe, read, then wait)", async () => {
    const n = new LocalNotifier();
    const w = new BundleWaiter(n, "a");
    n.publish("a", 1);
    expect(await w.wait(10, [])).toBe("notified");
    expect(await w.wait(10, [])).toBe("timeout"); // consumed: the next wait needs a new publish
    w.dispose();
  });

  it("times out, and ends at once on abort leaving no listener behind", async () => {
    const n = new LocalNotifier();
    const w = new BundleWaiter(n, "a");
    expect(await w.wait(20, [])).toBe("timeout");
    const ac = new AbortController();
    const started = Date.now();
    const pending = w.wait(10_000, [new AbortController().signal, ac.signal]);
    ac.abort();
    expect(await pending).toBe("aborted");
    expect(Date.now() - started).toBeLessThan(1000);
    w.dispose();
    expect(n.listenerCount("a")).toBe(0);
  });
});
