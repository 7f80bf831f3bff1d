/**
 * The benchmark's cold isolate: the real Worker (src/index.ts, unchanged) behind a fetch that
 * first empties every in-isolate cache a tenant request reads — verified API keys (and their
 * last_used_at throttle), users' access and tenants — so each request pays what the first
 * request of a fresh isolate pays. Only `npm run bench` bundles this entry (wrangler.toml's
 * `main` is src/index.ts), so no deployed Worker can be asked to forget its caches. Measured
 * with one connection: a concurrent request could otherwise refill a cache in between.
 *
 * JavaScript, not TypeScript, on purpose: bench/ is type-checked with the Node configuration,
 * which cannot see the Worker's own types (src/index.ts is checked with the Worker's).
 */
import worker from "../src/index";
import { clearApiKeyCache } from "../src/services/access/api-keys";
import { clearUserAccessCache } from "../src/services/access/user-access";
import { clearTenantCache } from "../src/services/tenancy/tenant-directory";

export default {
  ...worker,
  fetch(request, env, ctx) {
    clearApiKeyCache();
    clearTenantCache();
    clearUserAccessCache();
    return worker.fetch(request, env, ctx);
  },
};
