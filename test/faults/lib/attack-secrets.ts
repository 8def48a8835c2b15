import { existsSync, readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { parseEnrollmentToken } from "@outpost/shared";
import type { HubDb } from "@outpost/hub";

/**
 * Every secret a test knows of, by kind, to grep real processes' logs for (issue 7: tokens, private
 * keys, broker passwords never reach a log). Values too short to be a credential are not kept, so a
 * match always means a leak. For a JWT the signature segment is searched as well as the whole token
 * (a log that cut the token short would still carry it), for an enrollment token its secret part.
 */
export class KnownSecrets {
  readonly byKind = new Map<string, Set<string>>();

  add(kind: string, value: string | null | undefined): this {
    if (!value || value.length < 16) return this;
    const set = this.byKind.get(kind) ?? new Set<string>();
    set.add(value);
    this.byKind.set(kind, set);
    return this;
  }

  addJwt(kind: string, jwt: string): this {
    this.add(kind, jwt);
    return this.add(`${kind} (signature)`, jwt.split(".")[2]);
  }

  addEnrollmentToken(token: string): this {
    this.add("enrollment token", token);
    try { this.add("enrollment token (secret)", parseEnrollmentToken(token).secret); } catch { /* not one: the whole string is searched */ }
    return this;
  }

  /** The private part (`d`) of a JWK. */
  addJwk(kind: string, jwk: unknown): this {
    return this.add(kind, (jwk as { d?: string } | null)?.d);
  }

  /** Every private JWK file in a directory (an agent's agent.key, the hub's keys/root-*.jwk). */
  addJwkFiles(kind: string, dir: string): this {
    if (!existsSync(dir)) return this;
    for (const f of readdirSync(dir).filter((n) => n.endsWith(".jwk") || n.endsWith(".key"))) {
      try { this.addJwk(kind, JSON.parse(readFileSync(join(dir, f), "utf8"))); } catch { /* not a JWK */ }
    }
    return this;
  }

  /** The hub's online signing keys, private halves, as stored in its database. */
  async addHubSigningKeys(db: HubDb): Promise<this> {
    for (const r of (await db.client.execute("SELECT private_jwk FROM signing_keys")).rows) this.addJwk("hub signing key (private)", JSON.parse(String(r.private_jwk)));
    return this;
  }

  count(): number { return [...this.byKind.values()].reduce((n, s) => n + s.size, 0); }
  kinds(): string[] { return [...this.byKind.keys()]; }

  /** Each secret found in a log, with where: empty means none leaked. */
  leaks(logs: Record<string, string>): string[] {
    const out: string[] = [];
    for (const [kind, values] of this.byKind) {
      for (const v of values) for (const [where, text] of Object.entries(logs)) if (text.includes(v)) out.push(`${kind} ${v.slice(0, 6)}... in ${where}`);
    }
    return out;
  }
}

export const logBytes = (logs: Record<string, string>): number => Object.values(logs).reduce((n, t) => n + Buffer.byteLength(t), 0);
