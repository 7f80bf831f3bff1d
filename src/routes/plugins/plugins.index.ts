import { crudRouter } from "../crud-handlers";
import { handlers } from "./plugins.handlers";
import * as routes from "./plugins.routes";

export const pluginsRouter = crudRouter(routes, handlers);
