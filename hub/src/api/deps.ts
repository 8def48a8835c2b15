import type { Logger } from "pino";
import type { TrustedProxies } from "../audit/forwarded.ts";
import type { ArtifactStore } from "../artifacts/store.ts";
import type { OidcVerifier } from "../auth/oidc.ts";
import type { Principal } from "../auth/principal.ts";
import type { HubDb } from "../db/client.ts";
import type { HubMetrics } from "../metrics/index.ts";
import type { MqttAccess } from "../mqtt/route.ts";
import type { SiteRow } from "../db/schema.ts";
import type { BundleNotifier } from "../notify/notifier.ts";
import type { KeyStore } from "../signing/keystore.ts";

/** Everything the HTTP layer needs; built by main.ts, or by a test around a temp database. */
export interface HubDeps {
  hub: HubDb;
  keys: KeyStore;
  notifier: BundleNotifier;
  logger: Logger;
  /** Lifetime of an issued bundle (freeze protection on the agent). */
  bundleTtlHours: number;
  /** Aborted when the hub shuts down: held long-polls answer at once. */
  shutdown: AbortSignal;
  now: () => Date;
  /** Out-of-band artifacts (`<dataDir>/artifacts`); absent in an app built without a data directory. */
  artifacts?: ArtifactStore;
  /** Prometheus metrics (metrics/); createHubApp makes them when absent. */
  metrics?: HubMetrics;
  /** Accepts OIDC bearer tokens from the configured issuer (OUTPOST_OIDC_*); absent = API tokens only. */
  oidc?: OidcVerifier;
  /** Reverse proxies whose X-Forwarded-For / -Host / -Proto are believed (OUTPOST_TRUSTED_PROXIES); absent = none. */
  trustedProxies?: TrustedProxies;
  /** The origin browsers reach the hub at (OUTPOST_PUBLIC_URL), for the OIDC redirect URL; absent = from the request. */
  publicUrl?: string;
  /** The MQTT broker agents may use (GET /agent/v1/mqtt); absent when the hub runs HTTPS only. */
  mqtt?: MqttAccess;
}

/** The project an operator request acts in (X-Outpost-Project), once the route guard resolved it. */
export interface RequestProject { id: string; name: string }

export type HubEnv = { Variables: { requestId: string; site: SiteRow; principal: Principal; project: RequestProject } };
