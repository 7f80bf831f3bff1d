import { createRouter } from "../../lib/router";
import * as usageHandlers from "./usage.handlers";
import * as usageRoutes from "./usage.routes";

export const tenantsRouter = createRouter().openapi(usageRoutes.usage, usageHandlers.usage);
