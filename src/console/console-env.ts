import type { Bindings } from "../env";
import type { Variables } from "../request-env";
import type { ApiClient } from "./api-client";
import type { ConsoleSession } from "./session";

/** The console's context: the app's own variables plus the session and its API client. */
export interface ConsoleEnv {
  Bindings: Bindings;
  Variables: Variables & { session: ConsoleSession; api: ApiClient };
}
