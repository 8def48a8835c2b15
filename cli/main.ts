import { buildProgram } from "./program.ts";

try {
  await (await buildProgram(process.argv.slice(2))).parseAsync(process.argv);
} catch (e) {
  const { describeError } = await import("./context.ts");
  process.stderr.write(describeError(e) + "\n");
  process.exitCode = 1;
}
