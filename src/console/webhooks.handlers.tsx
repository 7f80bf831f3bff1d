/**
 * A tenant's webhook endpoints: the list with its create form (the signing secret is shown
 * once), enable or disable, a test event, a new secret (shown once), delete (after
 * confirmation), and one endpoint's delivery log with replay. Each action answers with a
 * redirect and a fixed notice, or the page again around the API's problem.
 */
import type { Context } from "hono";
import type { FC } from "hono/jsx";
import type { ContentfulStatusCode } from "hono/utils/http-status";
import { WEBHOOK_EVENT_TYPES } from "../webhooks/events";
import { type ApiResult, given, inTenant, type RateLimitState, resultOf, withQuery } from "./api-client";
import type { WebhookDelivery, WebhookEndpoint, WebhookEndpointWithSecret } from "./api-types";
import type { ConsoleEnv } from "./console-env";
import { formOf } from "./csrf";
import { Badge, CsrfField, Field, Layout, Notice, ProblemAlert, renderPage, Time } from "./layout";
import { type FriendlyProblem, friendly } from "./messages";
import { ConfirmPage } from "./pages/confirm";
import { Table } from "./pages/table";
import { failurePage, identityOr, sessionRedirect } from "./respond";
import { Secret } from "./secret";
import type { ConsoleSession } from "./session";
import { loadAll } from "./tenant-data";

type C = Context<ConsoleEnv>;

const DELIVERIES_PAGE_SIZE = 50;

/** Confirmations after a redirect (`?notice=`): fixed texts, so a link cannot inject any. */
const NOTICES = {
  webhook_enabled: "Webhook endpoint enabled. Its failure streak starts afresh.",
  webhook_disabled: "Webhook endpoint disabled. It receives no events until it is enabled again.",
  webhook_deleted: "Webhook endpoint deleted, with its delivery log.",
  webhook_test_sent: "Test event sent. Its delivery is listed below.",
  webhook_replayed: "Delivery sent again, with the same webhook-id and body.",
} as const;

type WebhookNotice = keyof typeof NOTICES;

/** A failed action, shown on the page it came from with the API's status. */
interface Refusal {
  friendly: FriendlyProblem;
  status: ContentfulStatusCode;
}

/** What the create form sent, put back into it after a refusal. */
interface CreateValues {
  url?: string;
  events?: string;
  description?: string;
  idempotencyKey: string;
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
      notice={webhookNotice(c.req.query("notice"))}
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
      notice={webhookNotice(c.req.query("notice"))}
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
  notice: WebhookNotice,
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

function webhookNotice(key: string | undefined): string | undefined {
  return key && Object.hasOwn(NOTICES, key) ? NOTICES[key as WebhookNotice] : undefined;
}

const listPath = (slug: string) => `/console/tenants/${encodeURIComponent(slug)}/webhooks`;
const endpointPath = (slug: string, id: string) => `${listPath(slug)}/${encodeURIComponent(id)}`;

/** System admins came from the tenant list; a tenant's own admin from "My tenant". */
const navOf = (session: ConsoleSession) => (session.identity?.isSystemAdmin ? "tenants" : "tenant");

interface PageProps {
  session: ConsoleSession;
  slug: string;
  budget?: RateLimitState;
  notice?: string;
  problem?: FriendlyProblem;
}

const WebhooksPage: FC<PageProps & { endpoints: WebhookEndpoint[]; values: CreateValues }> = ({
  session,
  slug,
  endpoints,
  budget,
  notice,
  problem,
  values,
}) => (
  <Layout title={`Webhooks of ${slug}`} session={session} nav={navOf(session)} budget={budget}>
    <p>
      <a href={`/console/tenants/${encodeURIComponent(slug)}`}>← {slug}</a>
    </p>
    <h1>Webhooks</h1>
    <p class="sub">
      Endpoints that receive the tenant's events, signed with its Standard Webhooks secret. An endpoint that
      fails every delivery for 3 days is disabled.
    </p>
    <Notice text={notice} />
    {problem && <ProblemAlert problem={problem} />}
    <section class="panel" id="endpoints" aria-labelledby="endpoints-title">
      <h2 id="endpoints-title">Endpoints</h2>
      <Table head={["URL", "Events", "State", "Failing since", "Created", ""]} empty="No webhook endpoints.">
        {endpoints.map((e) => (
          <EndpointRow session={session} slug={slug} endpoint={e} />
        ))}
      </Table>
    </section>
    <section class="panel" id="new-webhook" aria-labelledby="new-webhook-title">
      <h2 id="new-webhook-title">Add an endpoint</h2>
      <form method="post" action={listPath(slug)}>
        <CsrfField session={session} />
        <input type="hidden" name="idempotency_key" value={values.idempotencyKey} />
        <Field id="webhook-url" label="URL">
          <input id="webhook-url" name="url" type="url" required maxlength={2048} value={values.url} />
        </Field>
        <Field id="webhook-events" label="Events">
          <textarea id="webhook-events" name="events" required rows={3} aria-describedby="events-hint">
            {values.events ?? ""}
          </textarea>
          <span id="events-hint" class="hint">
            Separated by commas or new lines: event names, or a prefix such as <code>cluster.*</code>. Events:{" "}
            {WEBHOOK_EVENT_TYPES.join(", ")}.
          </span>
        </Field>
        <Field id="webhook-description" label="Description (optional)">
          <input id="webhook-description" name="description" maxlength={500} value={values.description} />
        </Field>
        <button type="submit">Add endpoint</button>
      </form>
    </section>
  </Layout>
);

const EndpointRow: FC<{ session: ConsoleSession; slug: string; endpoint: WebhookEndpoint }> = ({
  session,
  slug,
  endpoint: e,
}) => {
  const path = endpointPath(slug, e.id);
  return (
    <tr data-webhook={e.id}>
      <td>
        <a href={path}>{e.url}</a>
        {e.description && <div class="hint">{e.description}</div>}
      </td>
      <td>
        <EventList events={e.events} />
      </td>
      <td>
        <EnabledState endpoint={e} />
      </td>
      <td>
        <Time iso={e.failing_since} />
      </td>
      <td>
        <Time iso={e.created_at} />
      </td>
      <td>
        <div class="actions">
          <PostButton
            session={session}
            action={`${path}/${e.enabled ? "disable" : "enable"}`}
            label={e.enabled ? "Disable" : "Enable"}
            about={e.url}
          />
          <PostButton session={session} action={`${path}/test`} label="Send test event" about={e.url} />
          <PostButton
            session={session}
            action={`${path}/rotate-secret`}
            label="Rotate secret"
            about={e.url}
          />
          <a class="button danger" href={`${path}/delete`} aria-label={`Delete: ${e.url}`}>
            Delete
          </a>
        </div>
      </td>
    </tr>
  );
};

const EndpointPage: FC<
  PageProps & {
    endpoint: WebhookEndpoint;
    deliveries: WebhookDelivery[];
    nextCursor: string | null;
    firstPage: boolean;
  }
> = ({ session, slug, endpoint: e, deliveries, nextCursor, firstPage, budget, notice, problem }) => {
  const path = endpointPath(slug, e.id);
  return (
    <Layout title="Webhook endpoint" session={session} nav={navOf(session)} budget={budget}>
      <p>
        <a href={listPath(slug)}>← Webhooks of {slug}</a>
      </p>
      <div class="page-head">
        <div>
          <h1>{e.url}</h1>
          <p class="sub">{e.description ?? "Webhook endpoint"}</p>
        </div>
        <PostButton session={session} action={`${path}/test`} label="Send test event" about={e.url} />
      </div>
      <Notice text={notice} />
      {problem && <ProblemAlert problem={problem} />}
      <section class="panel" aria-labelledby="endpoint-title">
        <h2 id="endpoint-title">Endpoint</h2>
        <dl class="facts">
          <dt>State</dt>
          <dd>
            <EnabledState endpoint={e} />
          </dd>
          <dt>Events</dt>
          <dd>
            <EventList events={e.events} />
          </dd>
          <dt>Failing since</dt>
          <dd>
            <Time iso={e.failing_since} />
          </dd>
          <dt>Previous secret signs until</dt>
          <dd>
            <Time iso={e.previous_secret_expires_at} />
          </dd>
          <dt>Created</dt>
          <dd>
            <Time iso={e.created_at} />
          </dd>
        </dl>
      </section>
      <section class="panel" id="deliveries" aria-labelledby="deliveries-title">
        <h2 id="deliveries-title">Deliveries, newest first</h2>
        <Table
          head={[
            "Event",
            "Status",
            "Attempts",
            "Response",
            "Duration",
            "Next attempt",
            "Created",
            "Last error",
            "",
          ]}
          empty={firstPage ? "No deliveries yet." : "No older deliveries."}
        >
          {deliveries.map((d) => (
            <tr data-delivery={d.id}>
              <td>
                <code>{d.event_type}</code>
              </td>
              <td>
                <Badge value={d.status} />
              </td>
              <td>{d.attempts}</td>
              <td>{d.response_status ?? <span class="muted">—</span>}</td>
              <td>{d.duration_ms === null ? <span class="muted">—</span> : `${d.duration_ms} ms`}</td>
              <td>
                <Time iso={d.next_attempt_at} />
              </td>
              <td>
                <Time iso={d.created_at} />
              </td>
              <td class="hint">{d.last_error ?? <span class="muted">—</span>}</td>
              <td>
                {/* A pending delivery has not been attempted yet: the API refuses to replay it. */}
                {d.status !== "pending" && (
                  <PostButton
                    session={session}
                    action={`${path}/deliveries/${encodeURIComponent(d.id)}/replay`}
                    label="Replay"
                    about={`the ${d.event_type} delivery of ${d.created_at}`}
                  />
                )}
              </td>
            </tr>
          ))}
        </Table>
        {(nextCursor || !firstPage) && (
          <nav class="pager" aria-label="Pages">
            <div class="actions">
              {!firstPage && (
                <a class="button secondary" href={path}>
                  Newest
                </a>
              )}
              {nextCursor && (
                <a class="button secondary" href={withQuery(path, { cursor: nextCursor })}>
                  Older deliveries
                </a>
              )}
            </div>
          </nav>
        )}
      </section>
    </Layout>
  );
};

/** The answer to creating an endpoint or rotating its secret: the secret, shown here once. */
const SecretPage: FC<{
  session: ConsoleSession;
  slug: string;
  endpoint: WebhookEndpointWithSecret;
  rotated: boolean;
}> = ({ session, slug, endpoint: e, rotated }) => {
  const title = rotated ? "Signing secret rotated" : "Webhook endpoint created";
  return (
    <Layout title={title} session={session} nav={navOf(session)}>
      <section class="panel narrow" aria-labelledby="secret-title">
        <h1 id="secret-title">{title}</h1>
        <div class="alert warn" role="status">
          <strong>Copy the signing secret now.</strong> It is shown only on this page.
          {rotated && (
            <>
              {" "}
              The previous secret also signs until <Time iso={e.previous_secret_expires_at} />, so the
              receiver can switch at any time before then.
            </>
          )}
        </div>
        <Secret id="webhook-secret" label={`Signing secret for ${e.url}`} value={e.secret} />
        <a class="button" href={listPath(slug)}>
          Back to webhooks
        </a>
      </section>
    </Layout>
  );
};

/** A one-button form posting to `action`; `about` names what it acts on, for screen readers. */
const PostButton: FC<{ session: ConsoleSession; action: string; label: string; about: string }> = ({
  session,
  action,
  label,
  about,
}) => (
  <form class="inline" method="post" action={action}>
    <CsrfField session={session} />
    <button type="submit" class="secondary" aria-label={`${label}: ${about}`}>
      {label}
    </button>
  </form>
);

const EnabledState: FC<{ endpoint: WebhookEndpoint }> = ({ endpoint: e }) => (
  <>
    <Badge value={e.enabled ? "enabled" : "disabled"} />
    {e.disabled_reason && <div class="hint">Reason: {e.disabled_reason}</div>}
  </>
);

const EventList: FC<{ events: string[] }> = ({ events }) => (
  <>
    {events.map((event, i) => (
      <>
        {i > 0 && ", "}
        <code>{event}</code>
      </>
    ))}
  </>
);
