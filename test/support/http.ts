import { createExecutionContext, waitOnExecutionContext } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { expectDocumented } from "./contract";

/** Nothing listens on port 1 (tcpmux) on a test machine: a stand-in for a stopped backend. */
export const CLOSED_PORT = 1;

export async function closedPort(): Promise<number> {
  return CLOSED_PORT;
}

type Handler = { fetch?: (req: Request, env: never, ctx: ExecutionContext) => Response | Promise<Response> };

/**
 * Calls the Worker's real `fetch` export with some bindings replaced, for fault tests
 * (a dead database, a dead Redis) that the shared test environment cannot express. The
 * response must be what the OpenAPI document allows.
 */
export async function call(
  worker: Handler,
  path: string,
  init: RequestInit = {},
  overrides: Record<string, string> = {},
): Promise<Response> {
  const ctx = createExecutionContext();
  const request = new Request(new URL(path, "http://localhost"), init);
  const res = await worker.fetch?.(request, { ...env, ...overrides } as never, ctx);
  await waitOnExecutionContext(ctx);
  if (!res) throw new Error("the worker has no fetch handler");
  await expectDocumented(request.method, request.url, res);
  return res;
}
