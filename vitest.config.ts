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
    // Every hub a test starts gets its embedded MQTT broker on ephemeral ports, never 1883 / 8083.
    env: { OUTPOST_MQTT_PORT: "0", OUTPOST_MQTT_WS_PORT: "0" },
  },
});
