import type { RouteHandler } from "@hono/zod-openapi";
import type { AppBindings } from "../../env";
import { checkHealth } from "../../services/health";
import type { health, live } from "./health.routes";

export const getHealth: RouteHandler<typeof health, AppBindings> = async (c) => {
  const report = await checkHealth(c.get("http"), c.get("config"));
  return c.json(report, report.status === "ok" ? 200 : 503);
};

export const getLive: RouteHandler<typeof live, AppBindings> = (c) => c.json({ status: "ok" as const }, 200);
