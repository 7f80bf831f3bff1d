/**
 * The OpenAPI 3.1 document (generated from the same zod schemas that validate requests, built
 * once per isolate) and the API reference page. The page's script and styles come from this
 * deployment's static assets (`public/docs/assets/`, copied from the installed
 * @scalar/api-reference by `npm install`), never from a CDN, under a strict CSP.
 */
import type { OpenAPIHono } from "@hono/zod-openapi";
import type { AppBindings } from "../../request-env";

export const OPENAPI_INFO = {
  title: "Tenantry API",
  version: "1.0.0",
  description:
    "Multi-tenant control plane: tenant resolution, per-tenant limits, isolation and a Kubernetes namespace per tenant.\n\n" +
    "Every error is `application/problem+json` (the `Problem` schema) with a stable `code`. Each operation lists " +
    "every status it can answer; besides those, a method that a path does not declare answers 405 " +
    "`method_not_allowed` with an `Allow` header naming the methods it does.",
  // Not published under an open licence: an SPDX `LicenseRef-` names a licence of its own.
  license: { name: "Proprietary", identifier: "LicenseRef-Tenantry-Proprietary" },
};

/**
 * No inline script (the start-up call is its own file), styles inline only because the
 * reference injects them at run time; nothing but this origin may be reached.
 */
export const DOCS_CSP = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self' 'unsafe-inline'",
  "connect-src 'self'",
  "img-src 'self' data:",
  "font-src 'self' data:",
  "base-uri 'none'",
  "form-action 'none'",
  "frame-ancestors 'none'",
].join("; ");

const DOCS_PAGE = `<!doctype html>
<html lang="en">
  <head>
    <meta charset="utf-8" />
    <meta name="viewport" content="width=device-width, initial-scale=1" />
    <title>Tenantry API reference</title>
  </head>
  <body>
    <div id="app"></div>
    <script src="/docs/assets/scalar.js"></script>
    <script src="/docs/assets/init.js"></script>
  </body>
</html>
`;

/**
 * Every tenant route is also reachable under `/t/{tenant}` (path selection); the other
 * operations name only the root as their server (`defineRoute`).
 */
const SERVERS = [
  { url: "/", description: "The tenant comes from the subdomain, X-Tenant-ID or the credential" },
  {
    url: "/t/{tenant}",
    description: "Path selection: the tenant's slug or id in the path (tenant routes only)",
    variables: { tenant: { default: "acme", description: "A tenant slug or id" } },
  },
];

type OpenApiDocument = ReturnType<OpenAPIHono<AppBindings>["getOpenAPI31Document"]>;
const documents = new WeakMap<object, OpenApiDocument>();

/** The app's OpenAPI document, generated on first use and then kept for the isolate's life. */
export function openApiDocument(app: OpenAPIHono<AppBindings>): OpenApiDocument {
  let document = documents.get(app);
  if (!document) {
    document = app.getOpenAPI31Document({ openapi: "3.1.0", info: OPENAPI_INFO, servers: SERVERS });
    documents.set(app, document);
  }
  return document;
}

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
    description: "METRICS_TOKEN, for scrapers: GET /metrics and GET /api/v1/system/status only",
  });
  app.get("/openapi.json", (c) => c.json(openApiDocument(app)));
  app.get("/docs", (c) =>
    c.html(DOCS_PAGE, 200, {
      "content-security-policy": DOCS_CSP,
      "x-content-type-options": "nosniff",
      "referrer-policy": "no-referrer",
    }),
  );
}
