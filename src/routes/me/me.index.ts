import { createRouter } from "../../lib/router";
import * as handlers from "./me.handlers";
import * as routes from "./me.routes";

export const meRouter = createRouter().openapi(routes.me, handlers.me);
