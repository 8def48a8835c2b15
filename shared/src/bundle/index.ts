export * from "./names.ts";
export * from "./spec.ts";
export * from "./payload.ts";
