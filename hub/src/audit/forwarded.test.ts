import { BlockList } from "node:net";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { clientAddress, parseIp, requestHost, TrustedProxies } from "./forwarded.ts";

const v4 = fc.tuple(fc.nat(255), fc.nat(255), fc.nat(255), fc.nat(255)).map((o) => o.join("."));
const v6 = fc.array(fc.nat(0xffff), { minLength: 8, maxLength: 8 }).map((g) => g.map((x) => x.toString(16)).join(":"));
const ip = fc.oneof(v4, v6);

describe("trusted proxies: which address a request came from", () => {
  it("matches CIDRs exactly as node's BlockList does (IPv4 and IPv6)", () => {
    fc.assert(fc.property(v4, fc.nat(32), v4, (net, bits, probe) => {
      const list = new BlockList();
      list.addSubnet(net, bits, "ipv4");
      expect(TrustedProxies.parse(`${net}/${bits}`).has(probe)).toBe(list.check(probe, "ipv4"));
      expect(TrustedProxies.parse(`${net}/${bits}`).has(net)).toBe(true);
    }));
    fc.assert(fc.property(v6, fc.nat(128), v6, (net, bits, probe) => {
      const list = new BlockList();
      list.addSubnet(net, bits, "ipv6");
      expect(TrustedProxies.parse(`${net}/${bits}`).has(probe)).toBe(list.check(probe, "ipv6"));
    }));
  });

  it("reads IPv6 shorthand, embedded IPv4 and zones, and refuses what is not an address", () => {
    expect(parseIp("::1")).toEqual({ v: 6, n: 1n });
    expect(parseIp("2001:db8::")).toEqual(parseIp("2001:db8:0:0:0:0:0:0"));
    expect(parseIp("::ffff:192.0.2.1")).toEqual(parseIp("192.0.2.1")); // a dual-stack socket's IPv4 peer
    expect(parseIp("fe80::1%eth0")).toEqual(parseIp("fe80::1"));
    for (const bad of ["", "1.2.3", "1.2.3.256", "01.2.3.4", "1::2::3", "1:2:3:4:5:6:7:8:9", "12345::", "host.example", "::1 "]) expect(parseIp(bad), bad).toBeNull();
    expect(() => TrustedProxies.parse("10.0.0.0/8, proxy.internal")).toThrow(/'proxy.internal' is not an IP address or CIDR/);
    expect(() => TrustedProxies.parse("10.0.0.0/33")).toThrow(/'10.0.0.0\/33'/);
    expect(TrustedProxies.parse(" , ").empty).toBe(true);
  });

  it("never reads X-Forwarded-For from a peer that is not a trusted proxy", () => {
    fc.assert(fc.property(ip, fc.array(ip), (peer, hops) => {
      const trusted = TrustedProxies.parse("10.0.0.0/8");
      fc.pre(!trusted.has(peer));
      expect(clientAddress(peer, hops.join(", "), trusted)).toBe(peer);
      expect(clientAddress(peer, hops.join(", "), TrustedProxies.NONE)).toBe(peer);
    }));
  });

  it("through a chain of trusted proxies, answers the right-most untrusted hop: what the client wrote left of it does not matter", () => {
    const trusted = TrustedProxies.parse("10.0.0.0/8,fd00::/8");
    const proxy = fc.oneof(
      fc.array(fc.nat(255), { minLength: 3, maxLength: 3 }).map((o) => `10.${o.join(".")}`),
      fc.tuple(fc.nat(255), fc.array(fc.nat(0xffff), { minLength: 7, maxLength: 7 })).map(([b, g]) => [0xfd00 + b, ...g].map((x) => x.toString(16)).join(":")),
    );
    const client = ip.filter((a) => !trusted.has(a));
    fc.assert(fc.property(fc.array(fc.string()), client, fc.array(proxy), proxy, (spoofed, real, chain, peer) => {
      const xff = [...spoofed.map((s) => s.replace(/,/g, "")), real, ...chain].join(", ");
      expect(clientAddress(peer, xff, trusted)).toBe(real);
    }));
  });

  it("handles ports, brackets, mapped peers, garbage and an all-trusted chain", () => {
    const trusted = TrustedProxies.parse("127.0.0.1, 10.0.0.0/8");
    expect(clientAddress("::ffff:127.0.0.1", "203.0.113.9:51234", trusted)).toBe("203.0.113.9");
    expect(clientAddress("127.0.0.1", "[2001:db8::5]:443, 10.1.1.1", trusted)).toBe("2001:db8::5");
    expect(clientAddress("127.0.0.1", "not-an-ip, 10.1.1.1", trusted)).toBe("10.1.1.1"); // the proxy that passed the garbage on
    expect(clientAddress("127.0.0.1", "10.2.2.2, 10.1.1.1", trusted)).toBe("10.2.2.2");
    expect(clientAddress("127.0.0.1", undefined, trusted)).toBe("127.0.0.1");
    expect(clientAddress(null, "203.0.113.9", trusted)).toBeNull();
  });

  it("takes the browser's host and scheme from X-Forwarded-Host / -Proto only from a trusted proxy", () => {
    const trusted = TrustedProxies.parse("10.0.0.1");
    const headers = { host: "hub:7800", forwardedHost: "fleet.example.org, inner", forwardedProto: "https" };
    expect(requestHost("10.0.0.1", headers, "http", trusted)).toEqual({ host: "fleet.example.org", proto: "https" });
    expect(requestHost("192.0.2.5", headers, "http", trusted)).toEqual({ host: "hub:7800", proto: "http" });
    expect(requestHost("10.0.0.1", { host: "hub:7800", forwardedProto: "gopher" }, "http", trusted)).toEqual({ host: "hub:7800", proto: "http" });
  });
});
