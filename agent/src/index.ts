export { startAgent, type RunningAgent, type StartOptions } from "./main.ts";
export { loadConfig, AgentConfig, ConfigError, ENV_VARS, type AgentConfigInput, type LoadConfigOptions } from "./config.ts";
export { readAgentStatus, type AgentStatus } from "./status.ts";
export {
  listSimObjects, getSimObject, deleteSimObject, setSimField, setSimInstanceState, stopSimInstance, startSimInstance,
  putSimObject, setSimFaults, simSummary, withSimWorld, type SimRow,
} from "./drivers/sim/world.ts";
export type { Driver, DriverName, Step, StepAction } from "./drivers/types.ts";
export { importExport, exportReports, siteConfig, stderrLogger, AirgapError, type ImportResult, type ExportReportsResult } from "./airgap/index.ts";
