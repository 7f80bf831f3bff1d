import { createMiddleware } from "hono/factory";
import { openDatabase } from "../db/client";
import { type AppBindings, loadConfig } from "../env";
import { afterResponse } from "../lib/after-response";
import { setLogLevel } from "../lib/log";

/** Parses the configuration (once per isolate) and gives the request its database handle. */
export const requestContext = () =>
  createMiddleware<AppBindings>(async (c, next) => {
    const config = loadConfig(c.env);
    c.set("config", config);
    setLogLevel(config.LOG_LEVEL);
    const handle = openDatabase(config);
    c.set("db", handle.db);
    c.set("http", handle.http);
    try {
      await next();
    } finally {
      afterResponse(c, () => handle.close());
    }
  });
