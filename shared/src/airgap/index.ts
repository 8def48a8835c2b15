export * from "./manifest.ts";
export * from "./reports-file.ts";
export * from "./routes.ts";
export * from "./client.ts";
