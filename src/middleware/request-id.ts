import { createMiddleware } from "hono/factory";
import type { AppBindings } from "../request-env";

const HEADER = "X-Request-ID";
/** A client-supplied id is kept only if it is a sane token, so logs can't be poisoned. */
const SANE_ID = /^[A-Za-z0-9._-]{1,128}$/;

/** Accepts or generates the request id, exposes it to handlers and echoes it on the response. */
export const requestId = () =>
  createMiddleware<AppBindings>(async (c, next) => {
    const offered = c.req.header(HEADER);
    const id = offered && SANE_ID.test(offered) ? offered : crypto.randomUUID();
    c.set("requestId", id);
    await next();
    c.header(HEADER, id);
  });
