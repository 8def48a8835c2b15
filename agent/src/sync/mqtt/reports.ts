import type { ReportItem, ReportsResponse } from "@outpost/shared";
import type { ReportSender } from "../../report/flusher.ts";
import type { MqttSession } from "./session.ts";

/**
 * The outbox's way out. `mqtt`: the reports topic only (down = the batch stays queued). `auto`: the
 * reports topic while the session is up, HTTPS otherwise or when the MQTT ack does not come; a batch
 * sent both ways is stored once (the hub de-duplicates by id) and the outbox deletes only acked ids.
 */
export function mqttReportSender(session: MqttSession, https: ReportSender | null): ReportSender {
  return {
    async reports(items: ReportItem[]): Promise<ReportsResponse> {
      if (!https) return session.publishReports(items);
      if (!session.up) return https.reports(items);
      try { return await session.publishReports(items); } catch { return https.reports(items); }
    },
  };
}
