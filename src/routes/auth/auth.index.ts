import { createRouter } from "../../lib/router";
import * as handlers from "./auth.handlers";
import * as routes from "./auth.routes";

export const authRouter = createRouter()
  .openapi(routes.login, handlers.login)
  .openapi(routes.switchTenant, handlers.switchTenant)
  .openapi(routes.changePassword, handlers.changePassword)
  .openapi(routes.logoutAll, handlers.logoutAll);
