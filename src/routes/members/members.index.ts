import { createRouter } from "../../lib/router";
import * as handlers from "./members.handlers";
import * as routes from "./members.routes";

export const membersRouter = createRouter()
  .openapi(routes.list, handlers.list)
  .openapi(routes.patch, handlers.patch)
  .openapi(routes.remove, handlers.remove);
