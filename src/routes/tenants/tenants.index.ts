import { createRouter } from "../../lib/router";
import * as exportHandlers from "./export.handlers";
import * as exportRoutes from "./export.routes";
import * as handlers from "./tenants.handlers";
import * as routes from "./tenants.routes";
import * as usageHandlers from "./usage.handlers";
import * as usageRoutes from "./usage.routes";

export const tenantsRouter = createRouter()
  .openapi(routes.create, handlers.create)
  .openapi(routes.list, handlers.list)
  .openapi(routes.getOne, handlers.getOne)
  .openapi(routes.patch, handlers.patch)
  .openapi(routes.suspend, handlers.suspend)
  .openapi(routes.reactivate, handlers.reactivate)
  .openapi(routes.restore, handlers.restore)
  .openapi(routes.remove, handlers.remove)
  .openapi(routes.move, handlers.move)
  .openapi(usageRoutes.usage, usageHandlers.usage)
  .openapi(usageRoutes.daily, usageHandlers.daily)
  .openapi(usageRoutes.dailyAll, usageHandlers.dailyAll)
  .openapi(exportRoutes.exportTenant, exportHandlers.exportTenant)
  .openapi(exportRoutes.importTenant, exportHandlers.importTenant);
