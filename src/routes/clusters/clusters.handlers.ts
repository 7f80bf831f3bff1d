import { clusterService } from "../../services/resources/clusters";
import { crudHandlers } from "../crud-handlers";
import { schemas } from "./clusters.routes";

/** The generic handlers, with the service held to the route schemas. */
export const handlers = crudHandlers(schemas, clusterService);
