import type { Command } from "commander";

export function hubCommands(program: Command): void {
  const hub = program.command("hub").description("run the Outpost hub");
  hub.command("start")
    .description("start the hub: HTTP API for agents and operators, on an embedded libSQL file by default")
    .option("--data-dir <dir>", "where the database file and root keys live", process.env.OUTPOST_DATA_DIR ?? ".outpost/hub")
    .option("--port <port>", "TCP port (0 picks a free one)", process.env.OUTPOST_PORT ?? "7800")
    .option("--host <host>", "address to listen on", process.env.OUTPOST_HOST ?? "127.0.0.1")
    .option("--database-url <url>", "libSQL URL (file:..., libsql://..., http://...); default file:<data-dir>/hub.db", process.env.DATABASE_URL)
    .option("--log-level <level>", "pino log level", process.env.OUTPOST_LOG_LEVEL ?? "info")
    .action(async (o: { dataDir: string; port: string; host: string; databaseUrl?: string; logLevel: string }) => {
      const { startHub } = await import("@outpost/hub");
      const port = Number(o.port);
      if (!Number.isInteger(port) || port < 0 || port > 65535) throw new Error(`--port must be 0-65535, got '${o.port}'`);
      const running = await startHub({
        dataDir: o.dataDir, port, host: o.host, databaseUrl: o.databaseUrl,
        databaseAuthToken: process.env.DATABASE_AUTH_TOKEN, adminToken: process.env.OUTPOST_ADMIN_TOKEN, logLevel: o.logLevel,
      });
      // Machine-readable first line: scripts and tests wait for it.
      process.stdout.write(`outpost hub listening on ${running.url}\n`);
      process.stdout.write(`root hash: ${running.rootHash}\n`);
      if (running.mqtt) process.stdout.write(`mqtt broker (${running.mqtt.mode}): ${running.mqtt.urls.join(" ")}\n`);
      // A token given in OUTPOST_ADMIN_TOKEN is known already: printing it would only put it in the
      // logs (a service's output goes to the journal). A made-up one has no other way out.
      if (running.adminToken && process.env.OUTPOST_ADMIN_TOKEN === undefined) {
        process.stdout.write(
          `\nAdmin API token (shown once, only its hash is stored; keep it safe):\n  ${running.adminToken}\n` +
          `  export OUTPOST_HUB_URL=${running.url} OUTPOST_TOKEN=<that token>\n\n`,
        );
      } else if (running.adminToken) {
        process.stdout.write("admin API token: the one set in OUTPOST_ADMIN_TOKEN (not printed)\n");
      }
      const stop = async () => { await running.close(); process.exit(0); };
      process.once("SIGINT", stop);
      process.once("SIGTERM", stop);
    });
}
