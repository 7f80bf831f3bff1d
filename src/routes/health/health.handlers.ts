import type { Handler } from "../../lib/router";
import { checkHealth } from "../../services/platform/health";
import type { health, live } from "./health.routes";

export const getHealth: Handler<typeof health> = async (c) => {
  const report = await checkHealth(c.var.http, c.var.config);
  return c.json(report, report.status === "ok" ? 200 : 503);
};

export const getLive: Handler<typeof live> = (c) => c.json({ status: "ok" as const }, 200);
