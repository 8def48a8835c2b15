import type { AgentConfigInput } from "@outpost/agent";

/** What the fleet simulator's parent and its worker processes say to each other (IPC, JSON). */
export interface WorkerConfig {
  hubUrl: string;
  token: string;
  /** Sites `${prefix}${from}` .. `${prefix}${from + count - 1}`, numbers padded to 5 digits. */
  prefix: string;
  from: number;
  count: number;
  /** Where the sites' state directories go. */
  dir: string;
  agent: Partial<AgentConfigInput>;
  /** Sites enrolled (and restarted) at once. */
  batch: number;
}

export type ToWorker =
  | { id: number; cmd: "init"; config: WorkerConfig }
  | { id: number; cmd: "stats" }
  | { id: number; cmd: "accepted"; version: number }
  | { id: number; cmd: "restart"; agent: Partial<AgentConfigInput>; batch: number }
  | { id: number; cmd: "close" };

export interface WorkerStats { cpuS: number; rssKiB: number; hwmKiB: number; running: number }

export type FromWorker =
  | { type: "hello" }
  | { type: "progress"; started: number; approved?: number }
  | { type: "reply"; id: number; result?: unknown; error?: string };
