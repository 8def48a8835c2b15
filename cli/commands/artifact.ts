import { createReadStream } from "node:fs";
import { stat } from "node:fs/promises";
import type { Command } from "commander";
import { stringify } from "yaml";
import type { Artifact } from "@outpost/shared";
import { operatorClient, type GlobalOptions } from "../context.ts";
import { ago, print, table } from "../output.ts";

const g = (cmd: Command) => cmd.optsWithGlobals<GlobalOptions>();

/** Files from this size up report upload progress on stderr (stdout stays the pasteable snippet). */
export const PROGRESS_FROM_BYTES = 4 * 1024 * 1024;

export function artifactCommands(program: Command): void {
  const artifact = program.command("artifact").description("large files (LXD images) that releases ship out of band, by digest");
  artifact.command("upload <file>")
    .description("stream a file to the hub; prints the artifacts[] entry to paste into a release file")
    .requiredOption("--name <name>", "the artifact's name (an instance refers to it as image: {artifact: <name>})")
    .option("--sha256 <hex>", "refuse the upload unless the file hashes to this digest")
    .action(async (file: string, o: { name: string; sha256?: string }, cmd: Command) => {
      const st = await stat(file).catch((e: NodeJS.ErrnoException) => { throw new Error(`cannot read ${file}: ${e.code ?? e.message}`); });
      if (!st.isFile()) throw new Error(`${file} is not a regular file`);
      const bytes = createReadStream(file);
      const body = st.size >= PROGRESS_FROM_BYTES ? withProgress(bytes, st.size, file) : bytes;
      const a = await operatorClient(g(cmd)).uploadArtifact(o.name, body, st.size, { expectedSha256: o.sha256 });
      print(g(cmd), a, () => releaseSnippet(a));
    });
  artifact.command("list").description("artifacts stored on the hub").action(async (_o, cmd: Command) => {
    const list = await operatorClient(g(cmd)).listArtifacts();
    print(g(cmd), list, () => list.length === 0 ? "no artifacts yet: upload one with `outpost artifact upload <file> --name <name>`" : table(
      ["NAMES", "SHA256", "SIZE", "UPLOADED"],
      list.map((a) => [a.names.join(",") || "-", a.sha256, humanBytes(a.size), ago(a.createdAt)]),
    ));
  });
}

/** YAML to paste under a release's `artifacts:` (the comment says how an instance uses it). */
export function releaseSnippet(a: Artifact): string {
  return `# in the release file; an instance uses it as  image: { artifact: ${a.name} }\n${stringify({ artifacts: [a] }).trimEnd()}`;
}

/** Passes the bytes through, telling stderr how far the upload got (a line per 10% when not a terminal). */
async function* withProgress(source: AsyncIterable<Buffer>, size: number, label: string): AsyncIterable<Uint8Array> {
  const tty = process.stderr.isTTY;
  let sent = 0;
  let shown = tty ? -1 : 0;
  for await (const chunk of source) {
    yield chunk;
    sent += chunk.byteLength;
    const pct = Math.floor((sent * 100) / size);
    if (tty ? pct !== shown : Math.floor(pct / 10) !== Math.floor(shown / 10)) {
      shown = pct;
      process.stderr.write(`${tty ? "\r" : ""}uploading ${label}: ${pct}% (${humanBytes(sent)} of ${humanBytes(size)})${tty ? "" : "\n"}`);
    }
  }
  if (tty) process.stderr.write("\n");
}

function humanBytes(n: number): string {
  const units = ["B", "KiB", "MiB", "GiB", "TiB"];
  let i = 0;
  let v = n;
  while (v >= 1024 && i < units.length - 1) { v /= 1024; i++; }
  return `${i === 0 ? v : v.toFixed(1)} ${units[i]}`;
}
