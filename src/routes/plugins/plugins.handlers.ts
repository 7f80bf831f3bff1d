import { pluginService } from "../../services/resources/plugins";
import { crudHandlers } from "../crud-handlers";
import { schemas } from "./plugins.routes";

/** The generic handlers, with the service held to the route schemas. */
export const handlers = crudHandlers(schemas, pluginService);
