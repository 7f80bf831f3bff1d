import type { Context } from "hono";
import { createMiddleware } from "hono/factory";

type Work = () => Promise<unknown>;

/** Hands work to `afterResponse` for the current request. */
export type Background = (work: Work) => void;

/** Work queued by the request, started once its response is ready ("flushed" after that). */
const queued = new WeakMap<Context, Work[] | "flushed">();

/**
 * Work that must finish but must not delay the response (`waitUntil` when the runtime has
 * it). It does not even start before the response is ready: a background write (last use of
 * a key, a password rehash) never shares the response's time with its trip.
 */
export function afterResponse(c: Context, work: Work): void {
  const pending = queued.get(c);
  if (Array.isArray(pending)) pending.push(work);
  else start(c, work);
}

/** The outermost middleware: holds background work until the response is ready, then starts it. */
export const backgroundWork = () =>
  createMiddleware(async (c, next) => {
    queued.set(c, []);
    try {
      await next();
    } finally {
      const pending = queued.get(c);
      queued.set(c, "flushed");
      if (Array.isArray(pending)) for (const work of pending) start(c, work);
    }
  });

function start(c: Context, work: Work): void {
  let ctx: Context["executionCtx"] | undefined;
  try {
    ctx = c.executionCtx;
  } catch {
    // Called outside a Worker invocation (app.request in unit tests): nothing to extend.
  }
  const settled = Promise.resolve()
    .then(work)
    .catch(() => {});
  if (ctx) ctx.waitUntil(settled);
}
