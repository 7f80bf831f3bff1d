import type { FC } from "hono/jsx";
import { PLANS, TENANT_STATUSES } from "../../db/schema";
import { withQuery } from "../api-client";
import type { Tenant, Usage } from "../api-types";
import { Badge, Field, Layout, Notice, ProblemAlert, Time } from "../layout";
import type { FriendlyProblem } from "../messages";
import type { ConsoleSession } from "../session";
import { type SystemStatus, SystemStatusPanel } from "../system-status-panel";
import type { Section } from "../tenant-data";
import { UsageMeter } from "../usage-meter";

export interface TenantFilters {
  q?: string;
  status?: string;
  plan?: string;
}

export interface TenantRow {
  tenant: Tenant;
  usage?: Usage;
}

interface TenantsListProps {
  session: ConsoleSession;
  filters: TenantFilters;
  rows: TenantRow[];
  nextCursor: string | null;
  notice?: string;
  problem?: FriendlyProblem;
  /** The operator status, for system admins. */
  status?: Section<SystemStatus>;
}

/** System admins' overview: every tenant with its status, plan and use of the main quotas. */
export const TenantsListPage: FC<TenantsListProps> = ({
  session,
  filters,
  rows,
  nextCursor,
  notice,
  problem,
  status,
}) => (
  <Layout title="Tenants" session={session} nav="tenants">
    <div class="page-head">
      <div>
        <h1>Tenants</h1>
        <p class="sub">
          Status, plan and usage against quotas. Suspended and deleted tenants are kept until purge.
        </p>
      </div>
      <a class="button" href="/console/tenants/new">
        Create tenant
      </a>
    </div>
    <Notice text={notice} />
    {problem && <ProblemAlert problem={problem} />}
    {status && <SystemStatusPanel status={status} />}
    <search>
      <form class="panel row" method="get" action="/console/tenants" aria-label="Filter tenants">
        <Field id="q" label="Search">
          <input
            id="q"
            name="q"
            type="search"
            value={filters.q ?? ""}
            placeholder="Name or slug"
            maxlength={100}
          />
        </Field>
        <Choice id="status" label="Status" value={filters.status} options={TENANT_STATUSES} />
        <Choice id="plan" label="Plan" value={filters.plan} options={PLANS} />
        <button type="submit">Filter</button>
        {(filters.q || filters.status || filters.plan) && (
          <a href="/console/tenants" class="button secondary">
            Clear
          </a>
        )}
      </form>
    </search>
    <section class="panel" aria-labelledby="tenants-title">
      <h2 id="tenants-title">
        {rows.length === 0 ? "No tenants match" : `${rows.length} tenants on this page`}
      </h2>
      {rows.length > 0 && (
        <div class="table-wrap">
          <table>
            <thead>
              <tr>
                <th scope="col">Tenant</th>
                <th scope="col">Status</th>
                <th scope="col">Plan</th>
                <th scope="col">Members</th>
                <th scope="col">Clusters</th>
                <th scope="col">API calls this hour</th>
                <th scope="col">Created</th>
              </tr>
            </thead>
            <tbody>
              {rows.map(({ tenant, usage }) => (
                <tr data-tenant={tenant.slug}>
                  <td>
                    <a href={`/console/tenants/${tenant.slug}`}>{tenant.name}</a>
                    <div class="hint">{tenant.slug}</div>
                  </td>
                  <td>
                    <Badge value={tenant.status} />
                  </td>
                  <td>{tenant.plan}</td>
                  <td>
                    <UsageMeter quota="members" label="Members" usage={usage?.quotas.members} compact />
                  </td>
                  <td>
                    <UsageMeter quota="clusters" label="Clusters" usage={usage?.quotas.clusters} compact />
                  </td>
                  <td>
                    <UsageMeter
                      quota="api_calls_per_hour"
                      label="API calls"
                      usage={usage?.quotas.api_calls_per_hour}
                      compact
                    />
                  </td>
                  <td>
                    <Time iso={tenant.created_at} />
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
      {nextCursor && (
        <nav class="pager" aria-label="Pages">
          <a
            class="button secondary"
            href={withQuery("/console/tenants", { ...filters, cursor: nextCursor })}
          >
            Next page
          </a>
        </nav>
      )}
    </section>
  </Layout>
);

const Choice: FC<{ id: string; label: string; value?: string; options: readonly string[] }> = ({
  id,
  label,
  value,
  options,
}) => (
  <Field id={id} label={label}>
    <select id={id} name={id} data-autosubmit>
      <option value="">Any</option>
      {options.map((o) => (
        <option value={o} selected={o === value}>
          {o}
        </option>
      ))}
    </select>
  </Field>
);
