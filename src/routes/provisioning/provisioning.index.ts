import { createRouter } from "../../lib/router";
import * as handlers from "./provisioning.handlers";
import * as routes from "./provisioning.routes";

export const provisioningRouter = createRouter().openapi(routes.list, handlers.list);
