import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    include: ["shared/src/**/*.test.ts", "hub/src/**/*.test.ts", "agent/src/**/*.test.ts", "cli/**/*.test.ts", "test/**/*.test.ts"],
    // End-to-end tests start real hub and agent processes: give them room, and keep the
    // two-core machine from running too many process-heavy files at once.
    testTimeout: 120_000,
    hookTimeout: 120_000,
    globalSetup: ["test/global-setup.ts"],
    pool: "forks",
    maxWorkers: 2,
  },
});
