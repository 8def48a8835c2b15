import type { InStatement } from "../store/sqlite.ts";
import type { Logger } from "pino";
import type { EventBody, ReportItem } from "@outpost/shared";
import type { Store } from "../store/db.ts";
import { journalAppend } from "../store/journal.ts";
import { enqueue, makeReport } from "./outbox.ts";

export type NewEvent = Omit<EventBody, "severity"> & { severity?: EventBody["severity"] };

/**
 * Emits events: each one goes to the journal and the outbox in the same transaction as whatever
 * state change it reports (`also`), then the flusher is nudged. So an event is never sent for a
 * change that did not commit, and a committed change is never without its event.
 */
export class Events {
  constructor(
    private readonly store: Store,
    private readonly outboxMax: number,
    private readonly log: Logger,
    private readonly onQueued: () => void = () => {},
  ) {}

  async emit(event: NewEvent, also: InStatement[] = []): Promise<ReportItem> {
    const now = new Date();
    const item = makeReport({ kind: "event", body: { severity: "info", ...event } }, now);
    const body = item.body as EventBody;
    await enqueue(this.store, [item], this.outboxMax, [...also, journalAppend(`event:${body.type}`, { id: item.id, ...body }, now)]);
    const fields = { event: body.type, code: body.code, bundleVersion: body.bundleVersion };
    if (body.severity === "error") this.log.error(fields, body.message);
    else if (body.severity === "warning") this.log.warn(fields, body.message);
    else this.log.info(fields, body.message);
    this.onQueued();
    return item;
  }
}
