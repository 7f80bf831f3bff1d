import { createMiddleware } from "hono/factory";
import { openHttp } from "../db/client";
import { loadConfig } from "../env";
import { jobOutbox } from "../jobs/producer";
import { afterResponse, type Background } from "../lib/after-response";
import { setLogLevel } from "../lib/log";
import { notificationOutbox } from "../notifications/outbox";
import type { AppBindings } from "../request-env";
import { webhookDispatch } from "../webhooks/dispatch";

/**
 * Parses the configuration (once per isolate) and gives the request its database: the
 * SQL-over-HTTP driver, one round trip per read or write batch and no socket to close.
 */
export const requestContext = () =>
  createMiddleware<AppBindings>(async (c, next) => {
    const config = loadConfig(c.env);
    c.set("config", config);
    setLogLevel(config.LOG_LEVEL);
    c.set("http", openHttp(config));
    const background: Background = (work) => afterResponse(c, work);
    c.set("background", background);
    c.set("jobs", jobOutbox(c.env.PROVISION_QUEUE, background));
    c.set("notifications", notificationOutbox(c.env.NOTIFY_QUEUE, background));
    c.set("webhooks", webhookDispatch(c.var.http, c.env.WEBHOOK_QUEUE, background, config));
    await next();
  });
