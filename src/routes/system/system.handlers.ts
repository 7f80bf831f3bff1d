import type { RouteHandler } from "@hono/zod-openapi";
import type { AppBindings } from "../../env";
import { systemStatus } from "../../services/system-status";
import type { status } from "./system.routes";

export const getStatus: RouteHandler<typeof status, AppBindings> = async (c) =>
  c.json(await systemStatus(c.get("http"), c.get("config")), 200);
