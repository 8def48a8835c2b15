import type { CreateRolloutRequest } from "@outpost/shared";

type Form = Record<string, string | File | (string | File)[]>;

/**
 * The "new rollout" form into the API's request body. Only the shape is checked here; the API
 * validates everything else and its message is shown on the form.
 */
export function parseRolloutForm(form: Form): { request: CreateRolloutRequest; start: boolean } | { error: string } {
  const str = (k: string) => (typeof form[k] === "string" ? (form[k] as string).trim() : "");
  const m = /^([^@\s]+)@(\S+)$/.exec(str("release"));
  if (!m) return { error: "Pick a release (name@version)." };
  const waves = str("waves").split(",").map((w) => w.trim()).filter(Boolean).map((w) => (/^\d+$/.test(w) ? Number(w) : w));
  if (!waves.length) return { error: "Give the waves, e.g. 1,50%,100%." };
  const approval = str("approval") === "manual" ? "manual" : "automatic";
  return {
    request: { release: { name: m[1]!, version: m[2]! }, selector: str("selector"), strategy: { waves, approval } },
    start: str("start") === "1",
  };
}
