/**
 * Which address and host a request really came from when the hub sits behind reverse proxies
 * (pure). `X-Forwarded-*` headers are read only when the TCP peer is a proxy the operator named
 * in OUTPOST_TRUSTED_PROXIES: anyone else can write whatever they like in them. Then the client is
 * the right-most X-Forwarded-For address that is not itself a trusted proxy (each proxy appends
 * the peer it saw, so everything left of the first untrusted hop was written by the client).
 */
type Ip = { v: 4 | 6; n: bigint };
interface Cidr { v: 4 | 6; net: bigint; bits: number }

export class TrustedProxies {
  private constructor(private readonly cidrs: readonly Cidr[], readonly text: string) {}

  static readonly NONE = new TrustedProxies([], "");

  /** `10.0.0.0/8, 192.0.2.7, fd00::/8`; throws naming the entry that is not an address or CIDR. */
  static parse(text: string): TrustedProxies {
    const entries = text.split(",").map((s) => s.trim()).filter(Boolean);
    const cidrs = entries.map((entry): Cidr => {
      const [addr, len, extra] = entry.split("/");
      const ip = parseIp(addr!);
      const max = ip?.v === 4 ? 32 : 128;
      const bits = len === undefined ? max : /^\d{1,3}$/.test(len) ? Number(len) : NaN;
      if (!ip || extra !== undefined || !(bits >= 0 && bits <= max)) {
        throw new Error(`OUTPOST_TRUSTED_PROXIES entry '${entry}' is not an IP address or CIDR (e.g. 10.0.0.0/8, 192.0.2.7, fd00::/8)`);
      }
      return { v: ip.v, net: ip.n >> BigInt(max - bits), bits };
    });
    return new TrustedProxies(cidrs, entries.join(","));
  }

  get empty(): boolean { return this.cidrs.length === 0; }

  has(address: string): boolean {
    const ip = parseIp(address);
    if (!ip) return false;
    const max = ip.v === 4 ? 32 : 128;
    return this.cidrs.some((c) => c.v === ip.v && ip.n >> BigInt(max - c.bits) === c.net);
  }
}

/**
 * The client's address: the socket peer, unless that peer is a trusted proxy, in which case
 * X-Forwarded-For is walked from the right past trusted proxies to the first address that is not
 * one. A malformed entry ends the walk at the proxy that passed it on (it is as far as anything
 * can be vouched for); when every hop is trusted the left-most is the answer.
 */
export function clientAddress(peer: string | null, forwardedFor: string | undefined, trusted: TrustedProxies): string | null {
  if (peer === null) return null;
  let address = canonical(peer);
  if (!forwardedFor || !trusted.has(address)) return address;
  const hops = forwardedFor.split(",").map((s) => s.trim()).filter(Boolean);
  for (let i = hops.length - 1; i >= 0; i--) {
    const hop = hopAddress(hops[i]!);
    if (hop === null) return address;
    address = hop;
    if (!trusted.has(hop)) return hop;
  }
  return address;
}

/**
 * The host and scheme the browser used: X-Forwarded-Host / -Proto (their first entry, what the
 * outermost proxy received) when the peer is a trusted proxy, else the request's own Host and scheme.
 */
export function requestHost(
  peer: string | null,
  headers: { host?: string; forwardedHost?: string; forwardedProto?: string },
  ownProto: "http" | "https",
  trusted: TrustedProxies,
): { host: string | undefined; proto: "http" | "https" } {
  if (peer === null || !trusted.has(canonical(peer))) return { host: headers.host, proto: ownProto };
  const first = (v: string | undefined) => v?.split(",")[0]?.trim() || undefined;
  const proto = first(headers.forwardedProto)?.toLowerCase();
  return { host: first(headers.forwardedHost) ?? headers.host, proto: proto === "https" || proto === "http" ? proto : ownProto };
}

/** IPv4-mapped IPv6 (`::ffff:192.0.2.1`, what a dual-stack socket reports) as plain IPv4. */
function canonical(address: string): string {
  const m = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(address);
  return m ? m[1]! : address;
}

/** An X-Forwarded-For entry: `192.0.2.1`, `192.0.2.1:4711`, `2001:db8::1`, `[2001:db8::1]:4711`; null if none. */
function hopAddress(hop: string): string | null {
  const bracketed = /^\[([^\]]+)\](?::\d+)?$/.exec(hop);
  const v4port = /^(\d+\.\d+\.\d+\.\d+):\d+$/.exec(hop);
  const address = canonical(bracketed?.[1] ?? v4port?.[1] ?? hop);
  return parseIp(address) ? address : null;
}

export function parseIp(text: string): Ip | null {
  const s = text.replace(/%[\w.-]+$/, ""); // an IPv6 zone (fe80::1%eth0) names the interface, not the address
  const v4 = parseIpv4(s);
  if (v4 !== null) return { v: 4, n: v4 };
  const v6 = parseIpv6(s);
  if (v6 === null) return null;
  // IPv4-mapped addresses are the IPv4 peer a dual-stack socket saw.
  return v6 >> 32n === 0xffffn ? { v: 4, n: v6 & 0xffffffffn } : { v: 6, n: v6 };
}

function parseIpv4(s: string): bigint | null {
  const parts = s.split(".");
  if (parts.length !== 4 || !parts.every((p) => /^(0|[1-9]\d{0,2})$/.test(p) && Number(p) <= 255)) return null;
  return parts.reduce((n, p) => (n << 8n) | BigInt(p), 0n);
}

function parseIpv6(s: string): bigint | null {
  if (!s.includes(":")) return null;
  const halves = s.split("::");
  if (halves.length > 2) return null;
  const groups = (h: string): number[] | null => {
    if (h === "") return [];
    const out: number[] = [];
    const parts = h.split(":");
    for (const [i, p] of parts.entries()) {
      if (i === parts.length - 1 && p.includes(".")) { // an embedded IPv4 tail (::ffff:192.0.2.1)
        const v4 = parseIpv4(p);
        if (v4 === null) return null;
        out.push(Number(v4 >> 16n), Number(v4 & 0xffffn));
      } else if (/^[0-9a-f]{1,4}$/i.test(p)) out.push(parseInt(p, 16));
      else return null;
    }
    return out;
  };
  const head = groups(halves[0]!);
  const tail = halves.length === 2 ? groups(halves[1]!) : [];
  if (!head || !tail) return null;
  const missing = 8 - head.length - tail.length;
  if (halves.length === 1 ? missing !== 0 : missing < 1) return null;
  return [...head, ...Array<number>(halves.length === 2 ? missing : 0).fill(0), ...tail].reduce((n, g) => (n << 16n) | BigInt(g), 0n);
}
