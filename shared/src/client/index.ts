export * from "./http.ts";
export * from "./agent-client.ts";
export * from "./operator-client.ts";
