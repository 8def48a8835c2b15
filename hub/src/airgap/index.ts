export { registerAirgap } from "./routes.ts";
export { MAX_REPORTS_FILE_BYTES, REPORTS_IMPORT_PATH } from "./body.ts";
