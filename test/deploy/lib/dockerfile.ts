// The hub's Dockerfile read into a plain model (pure: no I/O), for the static checks and the stager.
import { DockerfileParser, type Instruction } from "dockerfile-ast";

export interface Copy { from?: string; sources: string[]; dest: string; workdir: string }
export interface Stage {
  name?: string;
  /** `node:20-bookworm-slim` */
  base: string;
  /** COPY/ADD and RUN in Dockerfile order. */
  steps: ({ copy: Copy } | { run: string })[];
  env: Record<string, string>;
  workdir: string;
  user?: string;
  expose: number[];
  volumes: string[];
  entrypoint: string[];
  cmd: string[];
  healthcheck?: { flags: Record<string, string>; cmd: string[] };
}

/** Exec-form JSON (`["a", "b"]`) of an instruction, or a shell-form string wrapped as `sh -c`. */
function execForm(raw: string): string[] {
  const text = raw.trim();
  if (text.startsWith("[")) return JSON.parse(text) as string[];
  return ["/bin/sh", "-c", text];
}

function flagsOf(i: Instruction): { getName(): string; getValue(): string | null }[] {
  return (i as unknown as { getFlags(): { getName(): string; getValue(): string | null }[] }).getFlags();
}

function args(i: Instruction): string[] { return i.getArguments().map((a) => a.getValue()); }

export function readDockerfile(text: string): Stage[] {
  const stages: Stage[] = [];
  for (const i of DockerfileParser.parse(text).getInstructions()) {
    const keyword = i.getKeyword();
    if (keyword === "FROM") {
      const a = args(i);
      stages.push({ name: a[2], base: a[0]!, steps: [], env: {}, workdir: "/", expose: [], volumes: [], entrypoint: [], cmd: [] });
      continue;
    }
    const s = stages.at(-1);
    if (!s) throw new Error(`${keyword} before any FROM`);
    const content = i.getArgumentsContent() ?? "";
    switch (keyword) {
      case "WORKDIR": s.workdir = args(i)[0]!.startsWith("/") ? args(i)[0]! : `${s.workdir.replace(/\/$/, "")}/${args(i)[0]}`; break;
      case "ENV": for (const p of (i as unknown as { getProperties(): { getName(): string; getValue(): string | null }[] }).getProperties()) s.env[p.getName()] = p.getValue() ?? ""; break;
      case "USER": s.user = args(i)[0]; break;
      case "EXPOSE": s.expose.push(...args(i).map((p) => Number(p.replace(/\/(tcp|udp)$/, "")))); break;
      case "VOLUME": s.volumes.push(...execForm(content).slice(content.trim().startsWith("[") ? 0 : 2)); break;
      case "ENTRYPOINT": s.entrypoint = execForm(content); break;
      case "CMD": s.cmd = execForm(content); break;
      case "RUN": s.steps.push({ run: content.replace(/\\\n/g, " ").replace(/\s+/g, " ").trim() }); break;
      case "HEALTHCHECK": {
        const m = /(?:^|\s)CMD\s+([\s\S]*)$/.exec(content.replace(/\\\n/g, " ").trim());
        if (!m) throw new Error(`HEALTHCHECK without CMD: ${content}`);
        const flags = Object.fromEntries(flagsOf(i).map((f) => [f.getName(), f.getValue() ?? ""]));
        s.healthcheck = { flags, cmd: execForm(m[1]!) };
        break;
      }
      case "COPY": case "ADD": {
        const from = flagsOf(i).find((f) => f.getName() === "from")?.getValue() ?? undefined;
        const a = args(i).filter((x) => !x.startsWith("--"));
        s.steps.push({ copy: { from, sources: a.slice(0, -1), dest: a.at(-1)!, workdir: s.workdir } });
        break;
      }
      default: break;
    }
  }
  return stages;
}

export const finalStage = (stages: Stage[]): Stage => stages.at(-1)!;
export const copies = (s: Stage): Copy[] => s.steps.flatMap((x) => ("copy" in x ? [x.copy] : []));
export const runs = (s: Stage): string[] => s.steps.flatMap((x) => ("run" in x ? [x.run] : []));

export interface HubFacts {
  /** The CLI's default `hub start --port` and the embedded broker's default ports. */
  httpPort: number;
  mqttPorts: number[];
  /** GET routes the hub serves without authentication. */
  openRoutes: string[];
  exists: (repoPath: string) => boolean;
}

/** What a built image would get wrong at run time, from the Dockerfile alone (pure). */
export function dockerfileProblems(stages: Stage[], f: HubFacts): string[] {
  const problems: string[] = [];
  const last = finalStage(stages);
  for (const s of stages) if (!/^node:20[.-]/.test(s.base)) problems.push(`stage ${s.name ?? "final"} is based on ${s.base}, not Node 20`);
  for (const s of stages) for (const c of copies(s)) {
    if (c.from === undefined) for (const src of c.sources) if (!f.exists(src)) problems.push(`COPY ${src}: no such file in the repository`);
  }
  const user = last.user ?? "root";
  const [uid] = user.split(":");
  if (!/^\d+$/.test(uid!) || uid === "0") problems.push(`USER ${user}: the image must run as a numeric non-root user`);
  const port = Number(last.env.OUTPOST_PORT ?? f.httpPort);
  for (const p of [port, ...f.mqttPorts]) if (!last.expose.includes(p)) problems.push(`EXPOSE lacks ${p}`);
  if (port !== f.httpPort) problems.push(`OUTPOST_PORT=${port} differs from the hub's default ${f.httpPort}`);
  if (!last.volumes.includes(last.env.OUTPOST_DATA_DIR ?? "")) problems.push(`the data dir ${last.env.OUTPOST_DATA_DIR} is not a VOLUME`);
  const hc = last.healthcheck?.cmd.join(" ") ?? "";
  const route = /(?:\$\{process\.env\.OUTPOST_PORT\}|:\d+)(\/[a-z0-9/]+)/.exec(hc)?.[1];
  if (!route || !f.openRoutes.includes(route)) problems.push(`HEALTHCHECK probes ${route ?? "nothing"}, not an open hub route`);
  const cmd = [...last.entrypoint, ...last.cmd];
  const script = cmd.find((a) => a.endsWith(".js"));
  if (!script || !f.exists(script)) problems.push(`CMD runs ${script ?? "no script"}, which is not in the repository`);
  if (!cmd.join(" ").includes("hub start")) problems.push(`CMD does not run \`hub start\`: ${cmd.join(" ")}`);
  const entry = last.entrypoint[0];
  const entryCopy = entry && copies(last).find((c) => c.dest === entry);
  if (entry && !entryCopy) problems.push(`ENTRYPOINT ${entry} is not copied into the image`);
  return problems;
}
