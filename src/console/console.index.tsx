/**
 * The admin console at `/console`: server-rendered Hono JSX pages over the API itself. Every
 * page reads and writes through `ApiClient` (the Worker's own `fetch`, in-process, with the
 * session's bearer token), so the API's authentication, RBAC, tenant isolation, rate limits,
 * quotas and audit trail apply unchanged. Plain Hono routes: HTML, not part of the OpenAPI
 * document or the route table.
 */
import { Hono } from "hono";
import { bodyLimit } from "hono/body-limit";
import { secureHeaders } from "hono/secure-headers";
import { log } from "../lib/log";
import { ACCEPT_PAGE_PATH } from "../notifications/invitation-email";
import type { ApiFetch } from "./api-client";
import { createApiClient } from "./api-client";
import * as apiKeys from "./api-keys.handlers";
import { ASSETS } from "./assets/assets";
import * as auth from "./auth.handlers";
import type { ConsoleEnv } from "./console-env";
import { verifyCsrf } from "./csrf";
import * as invitations from "./invitations.handlers";
import { renderPage } from "./layout";
import { friendly } from "./messages";
import { ErrorPage } from "./pages/error-page";
import * as password from "./password.handlers";
import { notFoundPage } from "./respond";
import { loadSession } from "./session";
import * as tenants from "./tenants.handlers";
import * as webhooks from "./webhooks.handlers";

const MAX_FORM_BYTES = 64 * 1024;
const ONE_YEAR_S = 31_536_000;

export function createConsole(apiFetch: ApiFetch) {
  const router = new Hono<ConsoleEnv>();

  router.use(
    "*",
    secureHeaders({
      contentSecurityPolicy: {
        defaultSrc: ["'self'"],
        scriptSrc: ["'self'"],
        styleSrc: ["'self'"],
        imgSrc: ["'self'", "data:"],
        formAction: ["'self'"],
        frameAncestors: ["'none'"],
        baseUri: ["'none'"],
        objectSrc: ["'none'"],
      },
      referrerPolicy: "same-origin",
      // HTTPS policy belongs to the deployment (the zone's HSTS setting), not to one page.
      strictTransportSecurity: false,
      xFrameOptions: "DENY",
    }),
  );

  for (const asset of ASSETS) {
    router.get(asset.path.slice("/console".length), (c) =>
      c.body(asset.body, 200, {
        "content-type": asset.type,
        "cache-control": `public, max-age=${ONE_YEAR_S}, immutable`,
      }),
    );
  }

  router.use("*", async (c, next) => {
    const session = await loadSession(c);
    c.set("session", session);
    c.set("api", createApiClient(c, apiFetch, session.token));
    await next();
    // Pages hold one-time secrets and per-user data: never cached, never shared.
    c.res.headers.set("cache-control", "no-store");
  });
  router.use(
    "*",
    bodyLimit({
      maxSize: MAX_FORM_BYTES,
      onError: (c) => problemPage(c, "payload_too_large", 413, "The form is too large."),
    }),
  );
  router.use(
    "*",
    verifyCsrf((c) =>
      problemPage(
        c,
        "forbidden",
        403,
        "This form has expired or did not come from the console. Reload the page and try again.",
      ),
    ),
  );

  router.get("/", auth.home);
  router.post("/sign-in", auth.signIn);
  router.post("/sign-out", auth.signOut);
  router.get("/no-tenant", auth.noTenant);
  router.get("/password", password.form);
  router.post("/password", password.change);
  // The emailed invitation link's page, on the tenant's console host.
  router.get(ACCEPT_PAGE_PATH.slice("/console".length), invitations.form);
  router.post(ACCEPT_PAGE_PATH.slice("/console".length), invitations.accept);

  router.get("/tenants", tenants.list);
  router.get("/tenants/new", tenants.newForm);
  router.post("/tenants", tenants.create);
  router.get("/tenants/:slug", (c) => tenants.detail(c));
  router.get("/tenants/:slug/provisioning", tenants.provisioning);
  router.get("/tenants/:slug/actions/:action", tenants.confirmAction);
  router.post("/tenants/:slug/actions/:action", tenants.runAction);

  router.post("/tenants/:slug/api-keys", apiKeys.create);
  router.get("/tenants/:slug/api-keys/:keyId/revoke", apiKeys.confirmRevoke);
  router.post("/tenants/:slug/api-keys/:keyId/revoke", apiKeys.revoke);

  router.get("/tenants/:slug/webhooks", (c) => webhooks.list(c));
  router.post("/tenants/:slug/webhooks", webhooks.create);
  router.get("/tenants/:slug/webhooks/:id", (c) => webhooks.getOne(c));
  router.post("/tenants/:slug/webhooks/:id/enable", webhooks.enable);
  router.post("/tenants/:slug/webhooks/:id/disable", webhooks.disable);
  router.post("/tenants/:slug/webhooks/:id/test", webhooks.sendTest);
  router.post("/tenants/:slug/webhooks/:id/rotate-secret", webhooks.rotateSecret);
  router.get("/tenants/:slug/webhooks/:id/delete", webhooks.confirmRemove);
  router.post("/tenants/:slug/webhooks/:id/delete", webhooks.remove);
  router.post("/tenants/:slug/webhooks/:id/deliveries/:deliveryId/replay", webhooks.replay);

  router.all("*", notFoundPage);

  router.onError((err, c) => {
    log("error", "console page failed", {
      request_id: c.get("requestId"),
      route: c.req.path,
      error: err instanceof Error ? (err.stack ?? err.message) : String(err),
    });
    return problemPage(c, "internal", 500, "An unexpected error occurred.");
  });

  return router;
}

function problemPage(
  c: Parameters<typeof renderPage>[0],
  code: "forbidden" | "payload_too_large" | "internal",
  status: 403 | 413 | 500,
  detail: string,
) {
  const session = c.get("session") ?? { csrf: "", expired: false };
  const problem = friendly({
    type: "about:blank",
    title: "",
    status,
    detail,
    code,
    request_id: c.get("requestId"),
  });
  if (code === "forbidden") problem.message = detail;
  return renderPage(c, <ErrorPage session={session} problem={problem} />, status);
}
