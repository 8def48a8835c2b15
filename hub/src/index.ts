export { startHub, type RunningHub, type StartHubOptions } from "./main.ts";
export { createHubApp, type HubDeps, MAX_BODY_BYTES, MAX_REPORTS_BODY_BYTES } from "./app.ts";
export { openDb, type HubDb, type Db, type Queryable } from "./db/client.ts";
export { migrateDb, DEFAULT_PROJECT } from "./db/migrate.ts";
export { KeyStore, RootKeysUnavailable, type KeyStoreOptions } from "./signing/keystore.ts";
export { LocalNotifier } from "./notify/local.ts";
export type { BundleNotifier } from "./notify/notifier.ts";
export { assignRelease } from "./bundles/issue.ts";
export { createLogger } from "./log.ts";
