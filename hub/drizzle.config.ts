import { defineConfig } from "drizzle-kit";

// `pnpm --filter @outpost/hub db:generate` after changing src/db/schema.ts; commit the output.
export default defineConfig({
  dialect: "sqlite",
  schema: "./src/db/schema.ts",
  out: "./drizzle",
});
