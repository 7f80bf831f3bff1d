import { crudRouter } from "../crud-handlers";
import { handlers } from "./clusters.handlers";
import * as routes from "./clusters.routes";

export const clustersRouter = crudRouter(routes, handlers);
