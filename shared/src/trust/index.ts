export * from "./documents.ts";
export * from "./errors.ts";
export * from "./keys.ts";
export * from "./sign.ts";
export * from "./verify.ts";
