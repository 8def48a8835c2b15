export * from "./agent.ts";
export * from "./errors.ts";
export * from "./labels.ts";
export * from "./operator.ts";
export * from "./rollouts.ts";
export * from "./mqtt.ts";
export * from "./access.ts";
