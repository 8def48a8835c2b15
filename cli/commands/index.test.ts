import { Command } from "commander";
import { describe, expect, it } from "vitest";
import { COMMAND_MODULES, commandWord, registerCommands } from "./index.ts";

const topLevel = (p: Command) => p.commands.flatMap((c) => [c.name(), ...c.aliases()]).sort();

describe("lazy command registry", () => {
  it("claims every top-level command exactly once, and the module claiming a command registers it", async () => {
    const all = new Command("outpost");
    await registerCommands(all, []);
    const claimed = COMMAND_MODULES.flatMap((m) => m.names);
    expect([...claimed].sort()).toEqual(topLevel(all));
    expect(new Set(claimed).size).toBe(claimed.length);
    for (const m of COMMAND_MODULES) {
      const one = new Command("outpost");
      for (const r of await m.load()) r(one);
      for (const n of m.names) expect(topLevel(one), n).toContain(n);
    }
  });

  it("registers only the module of the command being run, and everything for help and completion", async () => {
    const run = async (...args: string[]) => { const p = new Command("outpost"); await registerCommands(p, args); return topLevel(p); };
    expect(await run("--hub", "http://h", "--json", "sites", "list")).toEqual(["enroll-token", "events", "release", "sites", "token"]);
    expect(await run("agent", "import", "d")).toEqual(["agent", "bundle", "reports"]);
    const everything = await run();
    expect(await run("--help")).toEqual(everything);
    expect(await run("help", "sites")).toEqual(everything);
    expect(await run("completion", "bash")).toEqual(everything);
    expect(await run("no-such-command")).toEqual(everything); // commander then names the typo
  });

  it("finds the command word past the program-wide options and their values", () => {
    expect(commandWord(["--hub", "sites", "rollout", "list"])).toBe("rollout");
    expect(commandWord(["--json", "--token", "t", "--project", "p", "users"])).toBe("users");
    expect(commandWord(["--hub=http://h", "events"])).toBe("events");
    expect(commandWord(["--json"])).toBeUndefined();
  });
});
