export * from "./bundle/index.ts";
export * from "./trust/index.ts";
export * from "./protocol/index.ts";
export * from "./client/index.ts";
export * from "./auth/agent-jwt.ts";
export * from "./auth/enrollment-token.ts";
export * from "./selector/selector.ts";
export * from "./airgap/index.ts";
