import type { FC } from "hono/jsx";
import { WEBHOOK_EVENT_TYPES } from "../../webhooks/events";
import type { RateLimitState } from "../api-client";
import type { WebhookEndpoint, WebhookEndpointWithSecret } from "../api-types";
import { Badge, CsrfField, Field, Layout, Notice, ProblemAlert, Time } from "../layout";
import type { FriendlyProblem } from "../messages";
import { Secret } from "../secret";
import type { ConsoleSession } from "../session";
import { Table } from "./table";

/** What the create form sent, put back into it after a refusal. */
export interface CreateValues {
  url?: string;
  events?: string;
  description?: string;
  idempotencyKey: string;
}

export interface PageProps {
  session: ConsoleSession;
  slug: string;
  budget?: RateLimitState;
  notice?: string;
  problem?: FriendlyProblem;
}

export const listPath = (slug: string) => `/console/tenants/${encodeURIComponent(slug)}/webhooks`;
export const endpointPath = (slug: string, id: string) => `${listPath(slug)}/${encodeURIComponent(id)}`;

/** System admins came from the tenant list; a tenant's own admin from "My tenant". */
export const navOf = (session: ConsoleSession) => (session.identity?.isSystemAdmin ? "tenants" : "tenant");

export const WebhooksPage: FC<PageProps & { endpoints: WebhookEndpoint[]; values: CreateValues }> = ({
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

/** The answer to creating an endpoint or rotating its secret: the secret, shown here once. */
export const SecretPage: FC<{
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
export const PostButton: FC<{ session: ConsoleSession; action: string; label: string; about: string }> = ({
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

export const EnabledState: FC<{ endpoint: WebhookEndpoint }> = ({ endpoint: e }) => (
  <>
    <Badge value={e.enabled ? "enabled" : "disabled"} />
    {e.disabled_reason && <div class="hint">Reason: {e.disabled_reason}</div>}
  </>
);

export const EventList: FC<{ events: string[] }> = ({ events }) => (
  <>
    {events.map((event, i) => (
      <>
        {i > 0 && ", "}
        <code>{event}</code>
      </>
    ))}
  </>
);
