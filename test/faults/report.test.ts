import { mkdtempSync, readFileSync, rmSync, writeFileSync, mkdirSync, existsSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { writeFaultReport } from "./report.ts";

/** The report's merge: a run replaces the cases it ran, keeps the others, and sums the totals. */
describe("fault report", () => {
  const dirs: string[] = [];
  afterEach(() => { for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true }); });
  const tmp = () => { const d = mkdtempSync(join(tmpdir(), "outpost-report-")); dirs.push(d); return d; };
  const put = (casesDir: string, id: string, figures: Record<string, number>, totals: Record<string, number>) => {
    mkdirSync(casesDir, { recursive: true });
    writeFileSync(join(casesDir, `${id}.json`), JSON.stringify({ id, section: "Faults", title: `case ${id}`, done: "d", checked: "c", figures, totals, ranAt: "2026-12-01T00:00:00.000Z" }));
  };

  it("merges this run's cases by id into report.json and renders the totals", () => {
    const dir = tmp(), cases = join(dir, "cases");
    put(cases, "a", { kills: 3 }, { killsSurvived: 3 });
    put(cases, "b", { events: 10 }, { eventsProduced: 10, eventsStored: 10 });
    expect(writeFaultReport(dir, cases)).toEqual({ cases: 2, updated: 2 });
    expect(existsSync(cases)).toBe(false); // consumed
    put(cases, "a", { kills: 5 }, { killsSurvived: 5 });
    expect(writeFaultReport(dir, cases)).toEqual({ cases: 2, updated: 1 });
    const md = readFileSync(join(dir, "REPORT.md"), "utf8");
    expect(md).toContain("| 10 | 10 | 5 | 0 | 0 | 0 |"); // b kept, a replaced
    expect(md).toContain("### case b");
    expect(md).toContain("| kills | 5 |");
  });

  it("leaves the report alone when the run recorded no case", () => {
    const dir = tmp();
    expect(writeFaultReport(dir, join(dir, "none"))).toEqual({ cases: 0, updated: 0 });
    expect(existsSync(join(dir, "REPORT.md"))).toBe(false);
  });
});
