/**
 * A tenant's webhook endpoints: the list with its create form (the signing secret is shown
 * once), enable or disable, a test event, a new secret (shown once), delete (after
 * confirmation), and one endpoint's delivery log with replay. Each action answers with a
 * redirect and a fixed notice, or the page again around the API's problem.
 */
import type { Context } from "hono";
import type { ContentfulStatusCode } from "hono/utils/http-status";
import { type ApiResult, given, inTenant, resultOf } from "./api-client";
import type { ConsoleEnv } from "./console-env";
import { formOf } from "./csrf";
import { renderPage } from "./layout";
import { type FriendlyProblem, friendly, type NoticeKey, noticeOf } from "./messages";
import { ConfirmPage } from "./pages/confirm";
import { EndpointPage } from "./pages/webhook-endpoint";
import { type CreateValues, endpointPath, listPath, SecretPage, WebhooksPage } from "./pages/webhooks";
import { failurePage, identityOr, sessionRedirect } from "./respond";
import { loadAll } from "./tenant-data";

type C = Context<ConsoleEnv>;

const DELIVERIES_PAGE_SIZE = 50;

/** A failed action, shown on the page it came from with the API's status. */
interface Refusal {
  friendly: FriendlyProblem;
  status: ContentfulStatusCode;
}

export async function list(c: C, refusal?: Refusal, values?: CreateValues) {
  const identity = identityOr(c);
  if (identity instanceof Response) return identity;
  const slug = c.req.param("slug") ?? "";
  const api = c.get("api");
  const endpoints = await loadAll((query) =>
    api.GET("/api/v1/webhooks", { params: { query }, headers: inTenant(slug) }),
  );
  if (!endpoints.ok) return failurePage(c, endpoints);
  return renderPage(
    c,
    <WebhooksPage
      session={c.get("session")}
      slug={slug}
      endpoints={endpoints.data}
      budget={api.rateLimit()}
      notice={noticeOf(c.req.query("notice"))}
      problem={refusal?.friendly}
      values={values ?? { idempotencyKey: crypto.randomUUID() }}
    />,
    refusal?.status ?? 200,
  );
}

export async function create(c: C) {
  const identity = identityOr(c);
  if (identity instanceof Response) return identity;
  const slug = c.req.param("slug") ?? "";
  const form = await formOf(c);
  const values: CreateValues = {
    url: form.url?.trim(),
    events: form.events,
    description: form.description,
    idempotencyKey: form.idempotency_key || crypto.randomUUID(),
  };
  // The fields go to the API as typed, unchecked here: its 400 names what is wrong.
  const result = await resultOf(
    c.get("api").POST("/api/v1/webhooks", {
      body: {
        url: values.url ?? "",
        events: (values.events ?? "").split(/[\s,]+/).filter(Boolean),
        description: given(values.description?.trim()),
      },
      headers: { ...inTenant(slug), "idempotency-key": values.idempotencyKey },
    }),
  );
  if (!result.ok) return sessionRedirect(c, result) ?? list(c, refusalOf(result), values);
  return renderPage(
    c,
    <SecretPage session={c.get("session")} slug={slug} endpoint={result.data} rotated={false} />,
    201,
  );
}

/** The endpoint page: its details and its delivery log, newest first, a page at a time. */
export async function getOne(c: C, refusal?: Refusal) {
  const identity = identityOr(c);
  if (identity instanceof Response) return identity;
  const { slug, path, headers } = endpointOf(c);
  const api = c.get("api");
  const query = { limit: DELIVERIES_PAGE_SIZE, cursor: given(c.req.query("cursor")) };
  const [endpoint, deliveries] = await Promise.all([
    resultOf(api.GET("/api/v1/webhooks/{id}", { params: { path }, headers })),
    resultOf(api.GET("/api/v1/webhooks/{id}/deliveries", { params: { path, query }, headers })),
  ]);
  if (!endpoint.ok) return failurePage(c, endpoint);
  if (!deliveries.ok) return failurePage(c, deliveries);
  return renderPage(
    c,
    <EndpointPage
      session={c.get("session")}
      slug={slug}
      endpoint={endpoint.data}
      deliveries={deliveries.data.data}
      nextCursor={deliveries.data.next_cursor}
      firstPage={query.cursor === undefined}
      budget={api.rateLimit()}
      notice={noticeOf(c.req.query("notice"))}
      problem={refusal?.friendly}
    />,
    refusal?.status ?? 200,
  );
}

export const enable = (c: C) => setEnabled(c, true);
export const disable = (c: C) => setEnabled(c, false);

async function setEnabled(c: C, enabled: boolean) {
  const identity = identityOr(c);
  if (identity instanceof Response) return identity;
  const { slug, path, headers } = endpointOf(c);
  const result = await resultOf(
    c.get("api").PATCH("/api/v1/webhooks/{id}", { params: { path }, headers, body: { enabled } }),
  );
  const notice = enabled ? "webhook_enabled" : "webhook_disabled";
  return answer(c, result, listPath(slug), notice, list);
}

export async function sendTest(c: C) {
  const identity = identityOr(c);
  if (identity instanceof Response) return identity;
  const { slug, path, headers } = endpointOf(c);
  const result = await resultOf(
    c.get("api").POST("/api/v1/webhooks/{id}/test", { params: { path }, headers }),
  );
  return answer(c, result, endpointPath(slug, path.id), "webhook_test_sent", getOne);
}

export async function replay(c: C) {
  const identity = identityOr(c);
  if (identity instanceof Response) return identity;
  const { slug, path, headers } = endpointOf(c);
  const deliveryId = c.req.param("deliveryId") ?? "";
  const result = await resultOf(
    c.get("api").POST("/api/v1/webhooks/{id}/deliveries/{deliveryId}/replay", {
      params: { path: { ...path, deliveryId } },
      headers,
    }),
  );
  return answer(c, result, endpointPath(slug, path.id), "webhook_replayed", getOne);
}

/** The new secret is shown once, on the answer's page: never in a redirect. */
export async function rotateSecret(c: C) {
  const identity = identityOr(c);
  if (identity instanceof Response) return identity;
  const { slug, path, headers } = endpointOf(c);
  const result = await resultOf(
    c.get("api").POST("/api/v1/webhooks/{id}/rotate-secret", { params: { path }, headers }),
  );
  if (!result.ok) return sessionRedirect(c, result) ?? list(c, refusalOf(result));
  return renderPage(c, <SecretPage session={c.get("session")} slug={slug} endpoint={result.data} rotated />);
}

export async function confirmRemove(c: C) {
  const identity = identityOr(c);
  if (identity instanceof Response) return identity;
  const { slug, path, headers } = endpointOf(c);
  const endpoint = await resultOf(c.get("api").GET("/api/v1/webhooks/{id}", { params: { path }, headers }));
  if (!endpoint.ok) return failurePage(c, endpoint);
  return renderPage(
    c,
    <ConfirmPage
      session={c.get("session")}
      confirm={{
        title: `Delete the webhook endpoint ${endpoint.data.url}?`,
        consequence:
          "No more events are sent to it, and its delivery log is deleted with it: deliveries still on their way are never sent. This cannot be undone.",
        button: "Delete endpoint",
        danger: true,
        action: c.req.path,
        cancel: listPath(slug),
      }}
    />,
  );
}

export async function remove(c: C) {
  const identity = identityOr(c);
  if (identity instanceof Response) return identity;
  const { slug, path, headers } = endpointOf(c);
  const result = await resultOf(c.get("api").DELETE("/api/v1/webhooks/{id}", { params: { path }, headers }));
  if (!result.ok) return failurePage(c, result);
  return c.redirect(`${listPath(slug)}?notice=webhook_deleted`, 303);
}

/** To `done` with its notice, or `page` again around the API's problem. */
function answer(
  c: C,
  result: ApiResult<unknown>,
  done: string,
  notice: NoticeKey,
  page: (c: C, refusal: Refusal) => Response | Promise<Response>,
) {
  if (result.ok) return c.redirect(`${done}?notice=${notice}`, 303);
  return sessionRedirect(c, result) ?? page(c, refusalOf(result));
}

function refusalOf(failure: Extract<ApiResult<unknown>, { ok: false }>): Refusal {
  return {
    friendly: friendly(failure.problem, failure.retryAfter),
    status: failure.status as ContentfulStatusCode,
  };
}

/** The tenant and endpoint the path names, as the API calls want them. */
function endpointOf(c: C) {
  const slug = c.req.param("slug") ?? "";
  return { slug, path: { id: c.req.param("id") ?? "" }, headers: inTenant(slug) };
}
