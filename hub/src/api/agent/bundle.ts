import type { Hono, MiddlewareHandler } from "hono";
import { BUNDLE_CONTENT_TYPE, BUNDLE_VERSION_HEADER, BundleQuery } from "@outpost/shared";
import { newestBundle } from "../../bundles/issue.ts";
import { BundleWaiter } from "../../notify/waiter.ts";
import type { HubDeps, HubEnv } from "../deps.ts";
import { readQuery } from "../input.ts";
import { bundleEtag, ifNoneMatchHits } from "./etag.ts";

/**
 * GET /agent/v1/bundle?known=V&wait=S: the site's newest bundle if it is newer than V (and not the
 * one If-None-Match names); otherwise the request is held up to S seconds for a new one, then
 * answered 204 (304 if If-None-Match named the current version). A held request costs one
 * subscription and one timer, both released however it ends (answer, disconnect or shutdown).
 */
export function registerBundle(app: Hono<HubEnv>, deps: HubDeps, auth: MiddlewareHandler<HubEnv>): void {
  app.get("/bundle", auth, async (c) => {
    const q = readQuery(c, BundleQuery);
    const site = c.get("site");
    const inm = c.req.header("if-none-match");
    const deadline = Date.now() + q.wait * 1000;
    // Subscribe before the first read, so a bundle issued in between still wakes us.
    const waiter = new BundleWaiter(deps.notifier, site.name);
    try {
      for (;;) {
        const newest = await newestBundle(deps.hub.db, site.id);
        const version = newest?.version ?? 0;
        const etag = bundleEtag(version);
        if (newest && newest.version > q.known && !ifNoneMatchHits(inm, etag, true)) {
          return c.body(newest.jws, 200, {
            "content-type": BUNDLE_CONTENT_TYPE, etag, [BUNDLE_VERSION_HEADER]: String(version), "cache-control": "no-store",
          });
        }
        const left = deadline - Date.now();
        const outcome = left > 0 ? await waiter.wait(left, [c.req.raw.signal, deps.shutdown]) : "timeout";
        if (outcome !== "notified") {
          const headers = { etag, [BUNDLE_VERSION_HEADER]: String(version), "cache-control": "no-store" };
          return c.body(null, ifNoneMatchHits(inm, etag, newest !== null) ? 304 : 204, headers);
        }
        // Woken: loop and read again (the new bundle, or keep waiting if it was for an older version).
      }
    } finally {
      waiter.dispose();
    }
  });
}
