import { describe, expect, it } from "vitest";
import { isStorageFull, StorageHealth } from "./health.ts";

describe("state file storage health", () => {
  it("recognises a full disk by libSQL's code or message and by ENOSPC, nothing else", () => {
    expect(isStorageFull(Object.assign(new Error("SQLITE_FULL: database or disk is full"), { code: "SQLITE_FULL" }))).toBe(true);
    expect(isStorageFull(new Error("SQLITE_FULL: database or disk is full"))).toBe(true);
    expect(isStorageFull(Object.assign(new Error("write failed"), { code: "ENOSPC" }))).toBe(true);
    expect(isStorageFull(new Error("SQLITE_BUSY: database is locked"))).toBe(false);
    expect(isStorageFull(undefined)).toBe(false);
  });

  it("one outage: noticed at the first refused write, counted, ended by the next write that works", () => {
    const h = new StorageHealth();
    const seen: string[] = [];
    h.onChange(({ full, ended }) => seen.push(full ? `full:${full.failedWrites}` : `ended:${ended!.failedWrites}:${ended!.until.getTime() - ended!.since.getTime()}`));
    h.observe(null);
    h.observe(new Error("SQLITE_BUSY"));
    expect(h.full).toBeNull();
    const t = new Date("2031-01-01T00:00:00Z");
    h.observe(new Error("SQLITE_FULL: database or disk is full"), t);
    h.observe(new Error("SQLITE_FULL: database or disk is full"), new Date(t.getTime() + 500));
    h.observe(new Error("SQLITE_FULL: database or disk is full"), new Date(t.getTime() + 900));
    expect(h.full?.failedWrites).toBe(3);
    h.observe(null, new Date(t.getTime() + 2000));
    h.observe(null);
    expect(h.full).toBeNull();
    expect(seen).toEqual(["full:1", "ended:3:2000"]);
  });
});
