/**
 * `Idempotency-Key` on POST creates (attached by `defineRoute` to every POST that answers
 * 201): claims the key, replays a stored successful response, or stores this one.
 */
import { createMiddleware } from "hono/factory";
import type { AppBindings } from "../env";
import { Problem } from "../lib/problem";
import * as idempotency from "../services/idempotency";
import { actorOf } from "../services/principal";

export const idempotent = () =>
  createMiddleware<AppBindings>(async (c, next) => {
    const key = c.req.header("idempotency-key");
    if (key === undefined) return next();
    idempotency.validateKey(key);
    const db = c.get("db");
    const masterKey = c.get("config").MASTER_KEY;
    const tenantId = c.get("tenancy")?.tenant.id ?? null;
    const body = c.req.bodyCache.json ? await c.req.bodyCache.json : null;
    const caller = actorOf(c.get("principal"));
    const claim = await idempotency.claim(db, masterKey, {
      tenantId,
      principal: `${caller.actorType}:${caller.actorId ?? ""}`,
      route: `${c.req.method} ${c.req.routePath}`,
      key,
      requestHash: await idempotency.hashRequest(body),
    });
    if (claim.kind === "in_progress") {
      throw new Problem(
        "conflict",
        "A request with this Idempotency-Key is still in progress; retry shortly.",
      );
    }
    if (claim.kind === "replay") {
      return c.json(claim.body as object, claim.status as 201, { "Idempotency-Replayed": "true" });
    }
    await next();
    // Only a success is replayed: a refused or failed first attempt leaves the key free, so
    // the client's retry is judged afresh (the quota may have grown, the error been fixed).
    if (c.res.status >= 300) {
      await idempotency.release(db, tenantId, claim.id);
      return;
    }
    const stored = await c.res
      .clone()
      .json()
      .catch(() => null);
    await idempotency.complete(db, masterKey, tenantId, claim.id, { status: c.res.status, body: stored });
  });
