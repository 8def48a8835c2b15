import { execFileSync } from "node:child_process";
import { closeSync, existsSync, mkdirSync, openSync, rmSync, statfsSync, writeSync } from "node:fs";
import { join } from "node:path";

/**
 * A small tmpfs the test mounts (root) as an agent's state directory, so the disk can really fill
 * up under it: `fill()` writes a filler file until the kernel says ENOSPC, `free()` deletes it.
 * `unmount()` must run before the directory is removed.
 */
export class Tmpfs {
  private mounted = false;
  private readonly filler: string;

  constructor(readonly dir: string, readonly sizeBytes: number) {
    if (process.getuid?.() !== 0) throw new Error("Tmpfs needs root to mount; run the fault suite as root, as CI does");
    this.filler = join(dir, "filler.bin");
  }

  mount(): this {
    mkdirSync(this.dir, { recursive: true });
    execFileSync("mount", ["-t", "tmpfs", "-o", `size=${this.sizeBytes},mode=0700`, "tmpfs", this.dir], { stdio: "pipe" });
    this.mounted = true;
    return this;
  }

  freeBytes(): number {
    const s = statfsSync(this.dir);
    return s.bavail * s.bsize;
  }

  /** Writes until the file system is full; returns how many bytes the filler took. */
  fill(): number {
    const fd = openSync(this.filler, "a");
    const chunk = Buffer.alloc(64 * 1024, 0xa5);
    let written = 0;
    try {
      for (;;) {
        try { written += writeSync(fd, chunk, 0, this.freeBytes() >= chunk.length ? chunk.length : Math.max(1, this.freeBytes())); } catch (e) {
          if ((e as NodeJS.ErrnoException).code === "ENOSPC") break;
          throw e;
        }
      }
    } finally { closeSync(fd); }
    return written;
  }

  free(): void { rmSync(this.filler, { force: true }); }

  unmount(): void {
    if (!this.mounted) return;
    if (existsSync(this.dir)) execFileSync("umount", ["-l", this.dir], { stdio: "pipe" });
    this.mounted = false;
  }
}
