import { z } from "zod";
import { AirgapRoutes } from "@outpost/shared";

/**
 * The import route reads the body as any JSON object and lets parseReportsFile judge it, so a
 * wrong file gets the reports-file error (REPORTS_FILE_MALFORMED) rather than a generic one.
 */
export const ReportsFileBody = z.record(z.string(), z.unknown());

/** A whole outbox in one file (10 000 reports by default, each up to a few KiB): larger than one agent POST. */
export const MAX_REPORTS_FILE_BYTES = 64 * 1024 * 1024;
export const REPORTS_IMPORT_PATH = AirgapRoutes.reportsImport;
