import type { Child, FC } from "hono/jsx";
import type { RateLimitState } from "../api-client";
import type { ApiKey, Tenant } from "../api-types";
import { Badge, CsrfField, Field, Layout, Notice, ProblemAlert, Time } from "../layout";
import { type FriendlyProblem, formatCount } from "../messages";
import { RequestsChart, requestsPerHour } from "../requests-chart";
import type { ConsoleSession } from "../session";
import type { Section, TenantDetail } from "../tenant-data";
import { UsageMeter } from "../usage-meter";
import { apiCallsPerDay, UsageSparkline } from "../usage-sparkline";
import { ProvisioningTimeline } from "./provisioning-timeline";
import { Table } from "./table";

interface TenantDetailProps {
  session: ConsoleSession;
  detail: TenantDetail;
  budget?: RateLimitState;
  notice?: string;
  /** A failed action on this page (e.g. creating an API key over quota). */
  problem?: FriendlyProblem;
  /** Idempotency-Key of the create-key form, so a double submit creates one key. */
  keyIdempotency: string;
}

const METERED = ["members", "api_keys", "clusters", "plugins", "credentials", "api_calls_per_hour"] as const;
const NAMESPACE = ["cpu_cores", "memory_gb", "storage_gb", "gpus"] as const;
const NAMESPACE_LABELS: Record<(typeof NAMESPACE)[number], string> = {
  cpu_cores: "CPU cores",
  memory_gb: "Memory (GiB)",
  storage_gb: "Storage (GiB)",
  gpus: "GPUs",
};
const RECENT_EVENTS = 20;

export const TenantDetailPage: FC<TenantDetailProps> = ({
  session,
  detail,
  budget,
  notice,
  problem,
  keyIdempotency,
}) => {
  const { tenant } = detail;
  const isSystemAdmin = session.identity?.isSystemAdmin === true;
  return (
    <Layout title={tenant.name} session={session} nav={isSystemAdmin ? "tenants" : "tenant"} budget={budget}>
      {isSystemAdmin && (
        <p>
          <a href="/console/tenants">← All tenants</a>
        </p>
      )}
      <div class="page-head">
        <div>
          <h1>
            {tenant.name} <Badge value={tenant.status} />
          </h1>
          <p class="sub">
            <code>{tenant.slug}</code> · {tenant.plan} plan · {tenant.isolation} database in {tenant.region} ·
            created <Time iso={tenant.created_at} />
          </p>
        </div>
        {isSystemAdmin && <LifecycleActions tenant={tenant} />}
      </div>
      <Notice text={notice} />
      {problem && <ProblemAlert problem={problem} />}
      {tenant.move_id && (
        <div class="alert warn" role="status">
          <strong>Moving</strong> between databases: read-only until the move has finished.
        </div>
      )}
      {tenant.status === "suspended" && (
        <div class="alert warn" role="status">
          <strong>Suspended</strong> since <Time iso={tenant.suspended_at} />
          {tenant.suspend_reason ? `: ${tenant.suspend_reason}` : ""}. Every request of its members is
          refused.
        </div>
      )}
      {tenant.status === "deleted" && (
        <div class="alert error" role="status">
          <strong>Deleted</strong> on <Time iso={tenant.deleted_at} />; purged after{" "}
          <Time iso={tenant.purge_after} /> unless restored.
        </div>
      )}
      <div class="grid">
        <Panel id="usage" title="Usage against quotas">
          <Loaded section={detail.usage}>
            {(usage) => (
              <>
                {METERED.map((q) => (
                  <UsageMeter quota={q} usage={usage.quotas[q]} />
                ))}
                <h3>Namespace quotas</h3>
                <dl class="facts">
                  {NAMESPACE.map((q) => (
                    <>
                      <dt>{NAMESPACE_LABELS[q]}</dt>
                      <dd>{formatCount(usage.quotas[q].limit)}</dd>
                    </>
                  ))}
                </dl>
              </>
            )}
          </Loaded>
        </Panel>
        <Panel id="requests" title="Requests per hour">
          <Loaded section={detail.usage}>
            {(usage) => <RequestsChart series={requestsPerHour(usage)} />}
          </Loaded>
          <h3>Last 30 days</h3>
          <Loaded section={detail.daily}>
            {(daily) => <UsageSparkline series={apiCallsPerDay(daily)} />}
          </Loaded>
        </Panel>
      </div>
      <div class="grid">
        <Panel id="members" title="Members">
          <Loaded section={detail.members}>
            {(members) => (
              <Table head={["Email", "Name", "Role", "Joined"]} empty="No members.">
                {members.map((m) => (
                  <tr>
                    <td>{m.email}</td>
                    <td>{m.name ?? <span class="muted">—</span>}</td>
                    <td>{m.role}</td>
                    <td>
                      <Time iso={m.joined_at} />
                    </td>
                  </tr>
                ))}
              </Table>
            )}
          </Loaded>
        </Panel>
        <Panel id="invitations" title="Pending invitations">
          <Loaded section={detail.invitations}>
            {(invitations) => (
              <Table head={["Email", "Role", "Expires"]} empty="No pending invitations.">
                {invitations.map((i) => (
                  <tr>
                    <td>{i.email}</td>
                    <td>{i.role}</td>
                    <td>
                      <Time iso={i.expires_at} />
                    </td>
                  </tr>
                ))}
              </Table>
            )}
          </Loaded>
        </Panel>
      </div>
      <Panel id="api-keys" title="API keys">
        <Loaded section={detail.apiKeys}>
          {(keys) => (
            <ApiKeys slug={tenant.slug} keys={keys} session={session} idempotencyKey={keyIdempotency} />
          )}
        </Loaded>
      </Panel>
      <Panel id="webhooks" title="Webhooks">
        <p>
          Signed events about this tenant, sent to its own endpoints, with a delivery log:{" "}
          <a href={`/console/tenants/${tenant.slug}/webhooks`}>manage webhooks</a>.
        </p>
      </Panel>
      <ProvisioningTimeline slug={tenant.slug} jobs={detail.jobs} />
      <Panel id="audit" title="Recent audit events">
        <Loaded section={detail.events}>
          {(events) => (
            <Table
              head={["When", "Action", "Actor", "Target", "Request id"]}
              empty="Nothing in the last 24 hours."
            >
              {events
                .slice(-RECENT_EVENTS)
                .reverse()
                .map((e) => (
                  <tr>
                    <td>
                      <Time iso={e.created_at} />
                    </td>
                    <td>
                      <code>{e.action}</code>
                    </td>
                    <td>{e.actor_type}</td>
                    <td>{e.target_type ?? <span class="muted">—</span>}</td>
                    <td class="hint">{e.request_id}</td>
                  </tr>
                ))}
            </Table>
          )}
        </Loaded>
      </Panel>
    </Layout>
  );
};

/** Suspend, reactivate, delete, restore: each link opens a confirmation page. */
const LifecycleActions: FC<{ tenant: Tenant }> = ({ tenant }) => {
  const base = `/console/tenants/${tenant.slug}/actions`;
  return (
    <div class="actions">
      {tenant.status === "active" && (
        <a class="button secondary" href={`${base}/suspend`}>
          Suspend
        </a>
      )}
      {tenant.status === "suspended" && (
        <a class="button" href={`${base}/reactivate`}>
          Reactivate
        </a>
      )}
      {tenant.status === "deleted" ? (
        <a class="button" href={`${base}/restore`}>
          Restore
        </a>
      ) : (
        tenant.slug !== "default" && (
          <a class="button danger" href={`${base}/delete`}>
            Delete
          </a>
        )
      )}
    </div>
  );
};

const ApiKeys: FC<{ slug: string; keys: ApiKey[]; session: ConsoleSession; idempotencyKey: string }> = ({
  slug,
  keys,
  session,
  idempotencyKey,
}) => (
  <>
    <Table head={["Name", "Role", "Prefix", "Created", "Last used", "Expires", ""]} empty="No API keys.">
      {keys.map((k) => (
        <tr data-key={k.name}>
          <td>{k.name}</td>
          <td>{k.role}</td>
          <td>
            <code>{k.prefix}</code>
          </td>
          <td>
            <Time iso={k.created_at} />
          </td>
          <td>
            <Time iso={k.last_used_at} />
          </td>
          <td>
            <Time iso={k.expires_at} />
          </td>
          <td>
            <a href={`/console/tenants/${slug}/api-keys/${k.id}/revoke`} aria-label={`Revoke ${k.name}`}>
              Revoke
            </a>
          </td>
        </tr>
      ))}
    </Table>
    <form
      class="row"
      method="post"
      action={`/console/tenants/${slug}/api-keys`}
      aria-label="Create an API key"
    >
      <CsrfField session={session} />
      <input type="hidden" name="idempotency_key" value={idempotencyKey} />
      <Field id="key-name" label="New key name">
        <input id="key-name" name="name" required maxlength={100} />
      </Field>
      <Field id="key-role" label="Role">
        <select id="key-role" name="role">
          <option value="viewer">viewer</option>
          <option value="member">member</option>
          <option value="admin">admin</option>
        </select>
      </Field>
      <button type="submit">Create key</button>
    </form>
  </>
);

const Panel: FC<{ id: string; title: string; children?: Child }> = ({ id, title, children }) => (
  <section class="panel" id={id} aria-labelledby={`${id}-title`}>
    <h2 id={`${id}-title`}>{title}</h2>
    {children}
  </section>
);

/** Renders a section's data, or the friendly reason it could not be loaded. */
function Loaded<T>({ section, children }: { section: Section<T>; children: (data: T) => Child }) {
  return section.ok ? children(section.data) : <ProblemAlert problem={section.problem} />;
}
