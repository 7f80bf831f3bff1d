import type { OpenAPIHono } from "@hono/zod-openapi";
import { Scalar } from "@scalar/hono-api-reference";
import type { AppBindings } from "../../env";

export const OPENAPI_INFO = {
  title: "Tenantry API",
  version: "1.0.0",
  description:
    "Multi-tenant control plane: tenant resolution, per-tenant limits, isolation and a Kubernetes namespace per tenant.",
};

/** The OpenAPI 3.1 document generated from the same zod schemas that validate requests. */
export function mountDocs(app: OpenAPIHono<AppBindings>): void {
  app.openAPIRegistry.registerComponent("securitySchemes", "bearerJwt", {
    type: "http",
    scheme: "bearer",
    bearerFormat: "JWT",
  });
  app.openAPIRegistry.registerComponent("securitySchemes", "apiKey", {
    type: "apiKey",
    in: "header",
    name: "X-API-Key",
  });
  app.openAPIRegistry.registerComponent("securitySchemes", "metricsToken", {
    type: "http",
    scheme: "bearer",
    description: "METRICS_TOKEN, for Prometheus scrapers (GET /metrics only)",
  });
  app.doc31("/openapi.json", { openapi: "3.1.0", info: OPENAPI_INFO, servers: [{ url: "/" }] });
  app.get("/docs", Scalar({ url: "/openapi.json", pageTitle: "Tenantry API reference" }));
}
