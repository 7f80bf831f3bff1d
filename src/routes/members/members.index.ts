import { createRouter } from "../../lib/router";
import * as handlers from "./members.handlers";
import * as routes from "./members.routes";

export const membersRouter = createRouter().openapi(routes.list, handlers.list);
