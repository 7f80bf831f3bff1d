/**
 * `Idempotency-Key` on POST creates (attached by `defineRoute` to every POST that answers
 * 201). The key is claimed by the create's own write batch (`claimInBatch`), so claim,
 * change and stored answer are one transaction and one round trip; when an earlier request
 * holds the key, the batch writes nothing and this middleware replays that request's answer.
 */
import type { Context } from "hono";
import { createMiddleware } from "hono/factory";
import { IdempotencyClaimTaken } from "../db/write-batch";
import { log } from "../lib/log";
import { Problem } from "../lib/problem";
import { actorOf } from "../services/access/principal";
import * as idempotency from "../services/platform/idempotency";
import type { Authenticated } from "./pipeline/env";

export const idempotent = <E extends Authenticated>(tenantOf: (c: Context<E>) => string | null) =>
  createMiddleware<E>(async (c, next) => {
    const key = c.req.header("idempotency-key");
    if (key === undefined) return next();
    idempotency.validateKey(key);
    const body = c.req.bodyCache.json ? await c.req.bodyCache.json : null;
    const caller = actorOf(c.var.principal);
    const claim: idempotency.PendingClaim = {
      id: crypto.randomUUID(),
      tenantId: tenantOf(c),
      principal: `${caller.actorType}:${caller.actorId ?? ""}`,
      route: `${c.req.method} ${c.req.routePath}`,
      key,
      requestHash: await idempotency.hashRequest(body),
      masterKey: c.var.config.MASTER_KEY,
      consumed: false,
    };
    c.set("idempotency", claim);
    await next();
    if (c.error instanceof IdempotencyClaimTaken) {
      c.error = undefined;
      const stored = await idempotency.storedAnswer(claim.db ?? c.var.http, claim);
      if (stored.kind === "in_progress") {
        throw new Problem(
          "conflict",
          "A request with this Idempotency-Key is still in progress; retry shortly.",
        );
      }
      c.res = c.json(stored.body as object, stored.status as 201, { "Idempotency-Replayed": "true" });
      return;
    }
    if (c.res.status < 300 && !claim.consumed) {
      // A create whose write did not take the claim cannot be replayed: a programming error
      // the idempotency tests exist to catch, never a reason to fail the client's request.
      log("error", "an idempotent route answered without claiming its key", { route: claim.route });
    }
  });
