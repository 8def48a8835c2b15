import type { UiApi } from "./api.ts";

/** Reports a sparkline draws: a few minutes of an agent reporting every few seconds. */
export const SPARK_SAMPLES = 60;
/** Shown first when present: memory growth is what an operator looks for in an agent. */
const DEFAULT_METRIC = "process.rss_bytes";

/** The last SPARK_SAMPLES values of one telemetry metric, oldest first, and the metrics there are to pick. */
export async function siteTelemetry(api: UiApi, site: string, wanted: string | undefined) {
  const reports = await api.reports({ site, kind: "telemetry", limit: SPARK_SAMPLES });
  const newest = reports[0]?.body.metrics as Record<string, unknown> | undefined;
  const metrics = Object.keys(newest ?? {}).sort();
  const metric = wanted && metrics.includes(wanted) ? wanted : metrics.includes(DEFAULT_METRIC) ? DEFAULT_METRIC : metrics[0] ?? DEFAULT_METRIC;
  const series = reports.map((r) => (r.body.metrics as Record<string, unknown> | undefined)?.[metric])
    .filter((v): v is number => typeof v === "number").reverse();
  return { metric, metrics, series };
}
