import type { Hono } from "hono";
import type { Bindings, Variables } from "../env";
import type { ApiClient } from "./api-client";
import type { ConsoleSession } from "./session";

/** The console's context: the app's own variables plus the session and its API client. */
export interface ConsoleEnv {
  Bindings: Bindings;
  Variables: Variables & { session: ConsoleSession; api: ApiClient };
}

/** The Worker's own `fetch`: the console calls the API through it, in-process. */
export type ApiFetch = Hono<{ Bindings: Bindings }>["fetch"];
