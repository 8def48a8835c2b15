import { describe, expect, it } from "vitest";
import type { ProjectView } from "@outpost/shared";
import { can, pickProject } from "./projects.ts";

const p = (name: string, role: ProjectView["role"]): ProjectView => ({ name, role, createdAt: "2026-01-01T00:00:00.000Z" });

describe("the dashboard's project choice", () => {
  const mine = [p("eu", "viewer"), p("default", "operator"), p("us", "admin")];

  it("keeps the picked project while the caller has a role there, else default, else their first", () => {
    expect(pickProject(mine, "us").name).toBe("us");
    expect(pickProject(mine, "gone").name).toBe("default"); // a role taken away, or a cookie from another hub
    expect(pickProject(mine, undefined).name).toBe("default");
    expect(pickProject([p("eu", "viewer"), p("us", "admin")], undefined).name).toBe("eu");
  });

  it("offers operating to operators and admins, administering to admins only", () => {
    expect(mine.map((x) => [can(x, "operate"), can(x, "administer")])).toEqual([[false, false], [true, false], [true, true]]);
  });
});
