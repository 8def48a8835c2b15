import { describeError } from "./context.ts";
import { buildProgram } from "./program.ts";

try {
  await buildProgram().parseAsync(process.argv);
} catch (e) {
  process.stderr.write(describeError(e) + "\n");
  process.exitCode = 1;
}
