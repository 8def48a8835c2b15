/**
 * Replaces `from` with `to` in `text`, failing when `from` is not there: adapting a deploy file to this
 * machine (a port, a path) must never silently do nothing and leave the test running something else.
 */
export function adapt(text: string, from: string | RegExp, to: string, what = "the file"): string {
  const re = typeof from === "string" ? new RegExp(from.replace(/[.*+?^${}()|[\]\\/]/g, "\\$&"), "gm") : from;
  if (!new RegExp(re.source, re.flags.replace("g", "")).test(text)) throw new Error(`${what} no longer contains ${from}: update the test's adaptation`);
  return text.replace(re, to);
}
