import type { Handler } from "../../lib/router";
import { systemStatus } from "../../services/platform/system-status";
import type { status } from "./system.routes";

export const getStatus: Handler<typeof status> = async (c) =>
  c.json(await systemStatus(c.var.http, c.var.config), 200);
