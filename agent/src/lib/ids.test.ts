import { decodeTime, monotonicFactory } from "ulid";
import { describe, expect, it } from "vitest";
import { continueIdsAfter, newId } from "./ids.ts";

describe("report ids across a restart after the clock stepped back", () => {
  it("continue after the newest id the state file holds, even one from an hour ahead", () => {
    // What a state file written by this host an hour ago, when its clock ran an hour fast, holds.
    const last = monotonicFactory()(Date.now() + 3_600_000);
    expect(newId() < last).toBe(true); // fresh from the clock: would sort before it
    continueIdsAfter(last);
    const next = Array.from({ length: 50 }, () => newId());
    expect(next.every((id) => id > last)).toBe(true);
    expect([...next].sort()).toEqual(next);
    expect(decodeTime(next[0]!)).toBe(decodeTime(last) + 1);
  });

  it("an id from the past or none changes nothing", () => {
    const a = newId();
    continueIdsAfter(null);
    continueIdsAfter("not a ulid");
    continueIdsAfter(monotonicFactory()(Date.now() - 60_000));
    expect(newId() > a).toBe(true);
  });
});
