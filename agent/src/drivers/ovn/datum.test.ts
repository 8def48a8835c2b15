import { describe, expect, it } from "vitest";
import { decodeOptional, decodeSet, decodeStringMap, decodeStringSet, decodeUuid, decodeUuidSet, map, OvsdbDatumError, set, uuidSet } from "./datum.ts";

describe("OVSDB value notation", () => {
  it("reads a one-member set written as the bare atom the same as the set", () => {
    expect(decodeStringSet("dynamic")).toEqual(["dynamic"]);
    expect(decodeStringSet(["set", ["a", "b"]])).toEqual(["a", "b"]);
    expect(decodeStringSet(["set", []])).toEqual([]);
    expect(decodeUuidSet(["uuid", "u1"])).toEqual(["u1"]);
    expect(decodeUuidSet(["set", [["uuid", "u1"], ["uuid", "u2"]]])).toEqual(["u1", "u2"]);
  });

  it("reads optional columns and maps", () => {
    expect(decodeOptional(["set", []])).toBeUndefined();
    expect(decodeOptional(7)).toBe(7);
    expect(decodeStringMap(["map", [["subnet", "10.0.0.0/24"]]])).toEqual({ subnet: "10.0.0.0/24" });
    expect(decodeStringMap(["map", []])).toEqual({});
  });

  it("names what it expected when the server sends something else", () => {
    expect(() => decodeUuid("u1")).toThrow(OvsdbDatumError);
    expect(() => decodeStringMap({ a: "b" })).toThrow(/expected a map/);
    expect(() => decodeStringSet(["set", [1]])).toThrow(/expected a string/);
    expect(() => decodeSet(["set", "x"])).toThrow(/expected a set/);
  });

  it("writes sets and maps in the tagged form the server takes", () => {
    expect(set(["a"])).toEqual(["set", ["a"]]);
    expect(uuidSet(["u1"])).toEqual(["set", [["uuid", "u1"]]]);
    expect(map({ k: "v" })).toEqual(["map", [["k", "v"]]]);
  });
});
