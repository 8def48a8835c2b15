/**
 * Whether the state file can take writes. A full disk under the state directory (SQLITE_FULL,
 * ENOSPC) is a condition of the site, not of one write: the store notes when it began and how many
 * writes it refused, and the agent reports it (report/storage.ts) and says when it is over.
 */
export interface StorageFull { since: Date; failedWrites: number; error: string }

export function isStorageFull(e: unknown): boolean {
  const code = (e as { code?: unknown } | undefined)?.code;
  const msg = (e as Error | undefined)?.message ?? "";
  return code === "SQLITE_FULL" || code === "ENOSPC" || /SQLITE_FULL|ENOSPC|disk is full/.test(msg);
}

export class StorageHealth {
  full: StorageFull | null = null;
  private readonly listeners = new Set<(change: { full: StorageFull | null; ended?: StorageFull & { until: Date } }) => void>();

  onChange(l: (change: { full: StorageFull | null; ended?: StorageFull & { until: Date } }) => void): () => void {
    this.listeners.add(l);
    return () => this.listeners.delete(l);
  }

  /** Called with every write's outcome. */
  observe(error: unknown | null, now = new Date()): void {
    if (error === null) {
      if (!this.full) return;
      const ended = { ...this.full, until: now };
      this.full = null;
      for (const l of [...this.listeners]) l({ full: null, ended });
    } else if (isStorageFull(error)) {
      if (this.full) { this.full.failedWrites++; return; }
      this.full = { since: now, failedWrites: 1, error: (error as Error).message };
      for (const l of [...this.listeners]) l({ full: this.full });
    }
  }
}
