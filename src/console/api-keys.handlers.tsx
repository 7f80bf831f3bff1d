/** API keys of a tenant: create (the key is shown once) and revoke (after confirmation). */
import type { Context } from "hono";
import type { ContentfulStatusCode } from "hono/utils/http-status";
import type { Schemas } from "../../clients/typescript/src/index";
import { inTenant, resultOf } from "./api-client";
import type { ConsoleEnv } from "./console-env";
import { formOf } from "./csrf";
import { renderPage } from "./layout";
import { friendly } from "./messages";
import { ApiKeyCreatedPage } from "./pages/api-key-created";
import { ConfirmPage } from "./pages/confirm";
import { failurePage, identityOr, notFoundPage, sessionRedirect } from "./respond";
import { loadApiKeys } from "./tenant-data";
import { detail } from "./tenants.handlers";

type C = Context<ConsoleEnv>;

export async function create(c: C) {
  const identity = identityOr(c);
  if (identity instanceof Response) return identity;
  const slug = c.req.param("slug") ?? "";
  const form = await formOf(c);
  // The role goes to the API as typed, unchecked here: its 400 is shown on the page.
  const result = await resultOf(
    c.get("api").POST("/api/v1/api-keys", {
      body: { name: form.name ?? "", role: (form.role ?? "viewer") as Schemas["Role"] },
      headers: {
        ...inTenant(slug),
        ...(form.idempotency_key ? { "idempotency-key": form.idempotency_key } : {}),
      },
    }),
  );
  if (!result.ok) {
    return (
      sessionRedirect(c, result) ??
      detail(c, {
        friendly: friendly(result.problem, result.retryAfter),
        status: result.status as ContentfulStatusCode,
      })
    );
  }
  return renderPage(
    c,
    <ApiKeyCreatedPage session={c.get("session")} slug={slug} apiKey={result.data} />,
    201,
  );
}

/** The confirmation page names the key, found in the tenant's list (there is no single-key read). */
export async function confirmRevoke(c: C) {
  const identity = identityOr(c);
  if (identity instanceof Response) return identity;
  const slug = c.req.param("slug") ?? "";
  const keys = await loadApiKeys(c.get("api"), slug);
  if (!keys.ok) return failurePage(c, keys);
  const key = keys.data.find((k) => k.id === c.req.param("keyId"));
  if (!key) return notFoundPage(c);
  return renderPage(
    c,
    <ConfirmPage
      session={c.get("session")}
      confirm={{
        title: `Revoke API key “${key.name}”?`,
        consequence: `Anything using the ${key.role} key ${key.prefix}… stops working within 30 seconds. This cannot be undone.`,
        button: "Revoke key",
        danger: true,
        action: c.req.path,
        cancel: `/console/tenants/${slug}#api-keys`,
      }}
    />,
  );
}

export async function revoke(c: C) {
  const identity = identityOr(c);
  if (identity instanceof Response) return identity;
  const slug = c.req.param("slug") ?? "";
  const id = c.req.param("keyId") ?? "";
  const result = await resultOf(
    c.get("api").DELETE("/api/v1/api-keys/{id}", { params: { path: { id } }, headers: inTenant(slug) }),
  );
  if (!result.ok) return failurePage(c, result);
  return c.redirect(`/console/tenants/${encodeURIComponent(slug)}?notice=key_revoked#api-keys`, 303);
}
