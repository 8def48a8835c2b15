import type { Command } from "commander";

type Register = (program: Command) => void;

/**
 * Every command module and the top-level commands (and aliases) it registers, in help order.
 * `outpost sites list` imports operator.ts only; a run without a known command (help, a typo,
 * `completion`, which prints the whole tree) imports them all. index.test.ts checks these names
 * against what each module really registers.
 */
export const COMMAND_MODULES: readonly { names: readonly string[]; load: () => Promise<Register[]> }[] = [
  { names: ["hub"], load: async () => [(await import("./hub.ts")).hubCommands] },
  // `agent import` and `agent export-reports` come from airgap.ts, on top of agent.ts's `agent`.
  { names: ["agent"], load: async () => [(await import("./agent.ts")).agentCommands, (await import("./airgap.ts")).airgapCommands] },
  { names: ["token", "enroll-token", "sites", "release", "events"], load: async () => [(await import("./operator.ts")).operatorCommands] },
  { names: ["rollout"], load: async () => [(await import("./rollout.ts")).rolloutCommands] },
  { names: ["artifact"], load: async () => [(await import("./artifact.ts")).artifactCommands] },
  { names: ["bundle", "reports"], load: async () => [(await import("./agent.ts")).agentCommands, (await import("./airgap.ts")).airgapCommands] },
  { names: ["demo"], load: async () => [(await import("./demo.ts")).demoCommand] },
  { names: ["projects", "whoami"], load: async () => [(await import("./projects.ts")).projectCommands] },
  { names: ["users", "tokens", "audit"], load: async () => [(await import("./users.ts")).userCommands] },
  { names: ["completion"], load: async () => [(await import("./completion.ts")).completionCommand] },
];

/** The program-wide options that take a value (their value is not a command name). */
const VALUE_OPTIONS = new Set(["--hub", "--token", "--project"]);

/** The first word of `args` (process.argv after node and the script) that is not an option or an option's value. */
export function commandWord(args: readonly string[]): string | undefined {
  for (let i = 0; i < args.length; i++) {
    const a = args[i]!;
    if (VALUE_OPTIONS.has(a)) i++;
    else if (!a.startsWith("-")) return a;
  }
  return undefined;
}

/** Registers the modules `args` needs on `program`: the one its command lives in, or all of them. */
export async function registerCommands(program: Command, args: readonly string[]): Promise<void> {
  const word = commandWord(args);
  const one = word === "completion" ? undefined : COMMAND_MODULES.find((m) => m.names.includes(word ?? ""));
  const registers = one ? await one.load() : (await Promise.all(COMMAND_MODULES.map((m) => m.load()))).flat();
  for (const r of new Set(registers)) r(program);
}
