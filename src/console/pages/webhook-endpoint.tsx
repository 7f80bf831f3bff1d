import type { FC } from "hono/jsx";
import { withQuery } from "../api-client";
import type { WebhookDelivery, WebhookEndpoint } from "../api-types";
import { Badge, Layout, Notice, ProblemAlert, Time } from "../layout";
import { Table } from "./table";
import {
  EnabledState,
  EventList,
  endpointPath,
  listPath,
  navOf,
  type PageProps,
  PostButton,
} from "./webhooks";

/** One webhook endpoint: its details and a page of its delivery log, newest first, with replay. */
export const EndpointPage: FC<
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
