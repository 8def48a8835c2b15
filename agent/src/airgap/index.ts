export { AirgapError } from "./errors.ts";
export { importExport, type ImportOptions, type ImportResult } from "./import.ts";
export { exportReports, KV_REPORTS_EXPORTED, type ExportReportsOptions, type ExportReportsResult } from "./reports.ts";
export { readExportDir, hashFile } from "./export-dir.ts";
export { siteConfig } from "./config.ts";
export { stderrLogger } from "./log.ts";
