import { DEFAULT_PROJECT_NAME, type ProjectView } from "@outpost/shared";

/**
 * The project the dashboard acts in (pure): the one picked earlier while the caller still has a
 * role there, else `default` if they have one there (where the CLI acts without --project), else
 * the first they have. `projects` is the caller's list from the API, never empty here.
 */
export function pickProject(projects: readonly ProjectView[], picked: string | undefined): ProjectView {
  return projects.find((p) => p.name === picked) ?? projects.find((p) => p.name === DEFAULT_PROJECT_NAME) ?? projects[0]!;
}

/** What the caller's role in the picked project lets the dashboard offer (the API still has the last word). */
export function can(project: ProjectView, what: "operate" | "administer"): boolean {
  return what === "operate" ? project.role === "operator" || project.role === "admin" : project.role === "admin";
}
