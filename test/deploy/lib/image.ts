// Builds the hub image's file tree without Docker (there is no engine here): every COPY of
// deploy/container/Dockerfile is applied from the repository (honouring its .dockerignore), the Dockerfile's
// own `pnpm install` line runs in the staged tree (offline, from the local pnpm store), and the image's
// ENTRYPOINT + CMD, WORKDIR and ENV become a command line to run on this machine.
import { execFileSync } from "node:child_process";
import { cpSync, existsSync, mkdirSync, readFileSync, readdirSync, statSync } from "node:fs";
import { basename, dirname, join, relative } from "node:path";
import { createRequire } from "node:module";
import { REPO } from "../../lib/processes.ts";
import { finalStage, readDockerfile, type Stage } from "./dockerfile.ts";

// A CommonJS module whose types declare an ES default export: load it the CommonJS way.
const ignore = createRequire(import.meta.url)("@balena/dockerignore") as typeof import("@balena/dockerignore").default;

export const DOCKERFILE = join(REPO, "deploy/container/Dockerfile");

/** RUN lines that set up the image's OS (users, a global pnpm): they change nothing the hub runs from. */
const OS_SETUP_RUNS = [/^npm install --global pnpm@/, /^groupadd --system .*useradd --system .*chown 10001:10001 \/var\/lib\/outpost-hub/];
const PNPM_INSTALL = /^pnpm install (.*)$/;

export function readImage(): Stage[] { return readDockerfile(readFileSync(DOCKERFILE, "utf8")); }

/** The build context's filter: deploy/container/Dockerfile.dockerignore (BuildKit's per-Dockerfile file). */
export function contextFilter(): (relPath: string) => boolean {
  const lines = readFileSync(`${DOCKERFILE}.dockerignore`, "utf8").split("\n").map((l) => l.trim()).filter((l) => l && !l.startsWith("#"));
  const ig = ignore().add(lines);
  return (relPath) => !ig.ignores(relPath);
}

function copyInto(src: string, dest: string, keep: (abs: string) => boolean): void {
  if (!keep(src)) return;
  if (statSync(src).isDirectory()) {
    mkdirSync(dest, { recursive: true });
    for (const name of readdirSync(src)) copyInto(join(src, name), join(dest, name), keep);
  } else {
    mkdirSync(dirname(dest), { recursive: true });
    cpSync(src, dest, { verbatimSymlinks: true, preserveTimestamps: true });
  }
}

/** From an earlier stage (thrown away afterwards): hard links, as the dependency tree is large. */
function copyStage(src: string, dest: string): void {
  mkdirSync(dirname(dest), { recursive: true });
  if (statSync(src).isDirectory()) {
    mkdirSync(dest, { recursive: true });
    execFileSync("cp", ["-al", `${src}/.`, dest]);
  } else execFileSync("cp", ["-al", src, dest]);
}

/** Stages every stage into `<dir>/<n>`, step by step, and returns the final stage's root. */
export function stageImage(dir: string): { root: string; stage: Stage; stages: Stage[] } {
  const stages = readImage();
  const roots: string[] = [];
  const keepContext = contextFilter();
  stages.forEach((stage, n) => {
    const root = join(dir, String(n));
    mkdirSync(root, { recursive: true });
    roots.push(root);
    for (const step of stage.steps) {
      if ("run" in step) { run(step.run, join(root, stage.workdir)); continue; }
      const copy = step.copy;
      const from = copy.from === undefined ? undefined : stages.findIndex((s, k) => s.name === copy.from || String(k) === copy.from);
      if (from === -1) throw new Error(`COPY --from=${copy.from}: no such stage`);
      const destAbs = copy.dest.startsWith("/") ? copy.dest : join(copy.workdir, copy.dest);
      const destIsDir = copy.dest.endsWith("/") || copy.sources.length > 1;
      for (const source of copy.sources) {
        const src = from === undefined ? join(REPO, source) : join(roots[from]!, source);
        if (!existsSync(src)) throw new Error(`COPY ${source}: not in ${from === undefined ? "the repository" : `stage ${copy.from}`}`);
        const target = join(root, destIsDir && !statSync(src).isDirectory() ? join(destAbs, basename(source)) : destAbs);
        if (from === undefined) copyInto(src, target, (abs) => keepContext(relative(REPO, abs)));
        else copyStage(src, target);
      }
    }
  });
  return { root: roots.at(-1)!, stage: finalStage(stages), stages };
}

/** A RUN step: the dependency install runs for real (offline), OS set-up is skipped, anything else fails. */
function run(line: string, cwd: string): void {
  if (OS_SETUP_RUNS.some((re) => re.test(line))) return;
  const m = PNPM_INSTALL.exec(line);
  if (!m) throw new Error(`RUN ${line}: the stager does not know this step; teach test/deploy/lib/image.ts what it does`);
  try {
    execFileSync("pnpm", ["install", ...m[1]!.split(" "), "--offline", "--reporter=silent"], { cwd, stdio: "pipe", encoding: "utf8" });
  } catch (e) {
    throw new Error(`RUN ${line} (offline, in ${cwd}) failed: ${(e as { stderr?: string }).stderr ?? (e as Error).message}`);
  }
}

/** How the container would start: ENTRYPOINT + CMD in WORKDIR, absolute paths inside the staged root. */
export function imageCommand(root: string, stage: Stage): { argv: string[]; cwd: string } {
  const argv = [...stage.entrypoint, ...stage.cmd].map((a, i) => {
    if (a === "node") return process.execPath;
    return i === 0 && a.startsWith("/") ? join(root, a) : a;
  });
  return { argv, cwd: join(root, stage.workdir) };
}
