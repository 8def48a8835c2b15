import { base64url } from "jose";
import type { BundleIntake, IntakeOutcome } from "../../trust/intake.ts";
import { Mutex } from "../../lib/mutex.ts";

/** The version a JWS claims, read WITHOUT verification: used only to skip what cannot be news. */
export function claimedVersion(jws: string): number | undefined {
  try {
    const v = (JSON.parse(new TextDecoder().decode(base64url.decode(jws.split(".")[1] ?? ""))) as { version?: unknown }).version;
    return Number.isInteger(v) ? (v as number) : undefined;
  } catch { return undefined; }
}

/**
 * With two transports a bundle can arrive twice at once (over MQTT and from an HTTPS long-poll): the
 * one BundleIntake is entered one call at a time, so the second sees the first's result. A message
 * claiming a version at or below the one already held is skipped without a verdict: the broker
 * re-delivers the retained bundle on every (re)subscribe, and skipping can only ever keep what the
 * agent has. Everything else is verified in full; the claim is never trusted to accept anything.
 */
export function serialIntake(intake: Pick<BundleIntake, "receive">, knownVersion: () => Promise<number>) {
  const lock = new Mutex();
  return {
    receive: (jws: string, source: string): Promise<IntakeOutcome | { kind: "held"; version: number }> => lock.run(async () => {
      const known = await knownVersion();
      const claimed = claimedVersion(jws);
      if (claimed !== undefined && claimed <= known && known > 0) return { kind: "held" as const, version: known };
      return intake.receive(jws, source);
    }),
  };
}
