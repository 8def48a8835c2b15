import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { MqttTopics } from "@outpost/shared";
import { mayPublish, maySubscribe } from "./acl.ts";

const site = fc.stringMatching(/^[a-z0-9]([a-z0-9-]{0,10}[a-z0-9])?$/);

describe("broker ACL rules", () => {
  it("a site reads only its own bundle and acks and writes only its own reports, never retained", () => {
    fc.assert(fc.property(site, site, (me, other) => {
      const who = { kind: "site" as const, site: me };
      expect(maySubscribe(who, MqttTopics.bundle(me))).toBe(true);
      expect(maySubscribe(who, MqttTopics.acks(me))).toBe(true);
      expect(mayPublish(who, MqttTopics.reports(me), false)).toBe(true);
      expect(mayPublish(who, MqttTopics.reports(me), true)).toBe(false);
      expect(mayPublish(who, MqttTopics.bundle(me), false)).toBe(false);
      expect(maySubscribe(who, MqttTopics.reports(me))).toBe(false);
      for (const f of ["#", "outpost/#", "outpost/v1/sites/+/bundle", `outpost/v1/sites/${me}/#`, MqttTopics.hubWake, "$SYS/#"]) {
        expect(maySubscribe(who, f)).toBe(false);
      }
      if (other !== me) {
        expect(maySubscribe(who, MqttTopics.bundle(other))).toBe(false);
        expect(mayPublish(who, MqttTopics.reports(other), false)).toBe(false);
      }
    }));
  });
});
