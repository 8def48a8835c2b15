// Prints vitest's JSON report as the one closing line CI reads: "N passed, N failed[, N skipped]".
// Usage: node .ci/totals.mjs REPORT VITEST_EXIT_STATUS
import { readFileSync } from "node:fs";

const [file, statusArg] = process.argv.slice(2);
const vitestStatus = Number(statusArg ?? 0);
let r;
try {
  r = JSON.parse(readFileSync(file, "utf8"));
} catch (e) {
  console.error(`no vitest JSON report at ${file}: ${e.message}`);
  console.log("0 passed, 1 failed");
  process.exit(1);
}
const skipped = (r.numPendingTests ?? 0) + (r.numTodoTests ?? 0);
// A file can fail with no failing test: it did not load, or a beforeAll/afterAll hook failed. Each counts.
const brokenFiles = (r.testResults ?? []).filter((f) => f.status === "failed"
  && !(f.assertionResults ?? []).some((a) => a.status === "failed")).length;
let failed = (r.numFailedTests ?? 0) + brokenFiles;
if (brokenFiles) console.log(`${brokenFiles} test file(s) failed outside their tests (load error or hook): see above`);
// Vitest also fails a run on unhandled errors, which no count above shows: never report that as green.
if (vitestStatus !== 0 && failed === 0) {
  console.log(`vitest exited with status ${vitestStatus} (unhandled error?) although no test failed: see above`);
  failed = 1;
}
console.log(`${r.numPassedTests ?? 0} passed, ${failed} failed${skipped ? `, ${skipped} skipped` : ""}`);
process.exit(failed > 0 || (r.numPassedTests ?? 0) === 0 ? 1 : 0);
