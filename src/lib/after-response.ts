import type { Context } from "hono";

/** Work that must finish but must not delay the response: `waitUntil` when the runtime has it. */
export function afterResponse(c: Context, work: Promise<unknown>): void {
  let ctx: Context["executionCtx"] | undefined;
  try {
    ctx = c.executionCtx;
  } catch {
    // Called outside a Worker invocation (app.request in unit tests): nothing to extend.
  }
  const settled = work.catch(() => {});
  if (ctx) ctx.waitUntil(settled);
}
