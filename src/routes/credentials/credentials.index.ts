import { crudRouter } from "../crud-handlers";
import { handlers } from "./credentials.handlers";
import * as routes from "./credentials.routes";

export const credentialsRouter = crudRouter(routes, handlers).openapi(routes.reveal, handlers.reveal);
