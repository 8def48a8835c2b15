import { execFileSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

/**
 * Name resolution the test controls, for one process only: the process runs in its own mount
 * namespace (`unshare --mount`, root) where /etc/hosts and /etc/resolv.conf are bind mounts of files
 * of ours. The resolver points at 127.0.0.1:53, where nothing listens, so a name missing from our
 * hosts file fails at once (EAI_AGAIN), as it does when a site's DNS server is down. The machine's
 * own files are never touched. Edits are made in place (same inode), so the bind mount sees them.
 */
export class PrivateDns {
  readonly dir = mkdtempSync(join(tmpdir(), "outpost-dns-"));
  private readonly hosts = join(this.dir, "hosts");
  private readonly resolv = join(this.dir, "resolv.conf");
  private readonly names = new Map<string, string>();

  constructor() {
    if (process.getuid?.() !== 0) throw new Error("PrivateDns needs root (unshare --mount and bind mounts); run the fault suite as root, as CI does");
    try { execFileSync("unshare", ["--mount", "true"], { stdio: "pipe" }); } catch (e) {
      throw new Error(`PrivateDns: this machine cannot make a mount namespace (unshare --mount): ${(e as Error).message}`);
    }
    writeFileSync(this.resolv, "nameserver 127.0.0.1\noptions attempts:1 timeout:1\n");
    this.write();
  }

  set(name: string, ip = "127.0.0.1"): void { this.names.set(name, ip); this.write(); }
  remove(name: string): void { this.names.delete(name); this.write(); }

  /** The command prefix that runs a process with these files as its /etc/hosts and /etc/resolv.conf. */
  get wrap(): string[] {
    return ["unshare", "--mount", "--propagation", "private", "sh", "-c",
      'mount --bind "$1" /etc/hosts && mount --bind "$2" /etc/resolv.conf && shift 2 && exec "$@"', "sh", this.hosts, this.resolv];
  }

  close(): void { rmSync(this.dir, { recursive: true, force: true }); }

  private write(): void {
    writeFileSync(this.hosts, ["127.0.0.1 localhost", ...[...this.names].map(([n, ip]) => `${ip} ${n}`)].join("\n") + "\n");
  }
}
