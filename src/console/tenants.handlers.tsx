/** Tenant pages: the list, the create form, one tenant, its provisioning, and lifecycle actions. */
import type { Context } from "hono";
import type { ContentfulStatusCode } from "hono/utils/http-status";
import type { operations, Schemas } from "../../clients/typescript/src/index";
import { type ApiClient, type ApiResult, given, inTenant, resultOf } from "./api-client";
import type { Tenant } from "./api-types";
import type { ConsoleEnv } from "./console-env";
import { formOf } from "./csrf";
import { renderPage } from "./layout";
import { type FriendlyProblem, friendly, type NoticeKey, noticeOf } from "./messages";
import { type Confirmation, ConfirmPage } from "./pages/confirm";
import { ProvisioningPage } from "./pages/provisioning-timeline";
import { TenantCreatedPage } from "./pages/tenant-created";
import { TenantDetailPage } from "./pages/tenant-detail";
import { NewTenantPage, type NewTenantValues } from "./pages/tenant-new";
import { TenantsListPage } from "./pages/tenants-list";
import { failurePage, identityOr, notFoundPage, sessionRedirect } from "./respond";
import { loadProvisioning, loadTenantDetail, section } from "./tenant-data";

type C = Context<ConsoleEnv>;
type TenantQuery = NonNullable<operations["listTenants"]["parameters"]["query"]>;
type CreateTenant = Schemas["CreateTenant"];

const LIST_PAGE_SIZE = 20;

export async function list(c: C) {
  const identity = identityOr(c);
  if (identity instanceof Response) return identity;
  const api = c.get("api");
  const filters = { q: c.req.query("q"), status: c.req.query("status"), plan: c.req.query("plan") };
  // The filters go to the API as typed, unchecked here: its 400 is shown on the page.
  const query = {
    q: given(filters.q),
    status: given(filters.status) as TenantQuery["status"],
    plan: given(filters.plan) as TenantQuery["plan"],
    cursor: given(c.req.query("cursor")),
    limit: LIST_PAGE_SIZE,
  } satisfies TenantQuery;
  const [page, status] = await Promise.all([
    resultOf(api.GET("/api/v1/tenants", { params: { query } })),
    identity.isSystemAdmin ? resultOf(api.GET("/api/v1/system/status")).then(section) : undefined,
  ]);
  if (!page.ok) {
    if (page.problem.code !== "validation_failed") return failurePage(c, page);
    return renderPage(
      c,
      <TenantsListPage
        session={c.get("session")}
        filters={filters}
        rows={[]}
        nextCursor={null}
        problem={friendly(page.problem)}
        status={status}
      />,
      400,
    );
  }
  const rows = await Promise.all(
    page.data.data.map(async (tenant) => {
      if (tenant.status === "deleted") return { tenant };
      const usage = await resultOf(
        api.GET("/api/v1/tenants/{id}/usage", {
          params: { path: { id: tenant.slug } },
          headers: inTenant(tenant.slug),
        }),
      );
      return { tenant, usage: usage.ok ? usage.data : undefined };
    }),
  );
  return renderPage(
    c,
    <TenantsListPage
      session={c.get("session")}
      filters={filters}
      rows={rows}
      nextCursor={page.data.next_cursor}
      notice={noticeOf(c.req.query("notice"))}
      status={status}
    />,
  );
}

export function newForm(c: C) {
  const identity = identityOr(c);
  if (identity instanceof Response) return identity;
  return renderPage(
    c,
    <NewTenantPage session={c.get("session")} values={{}} idempotencyKey={crypto.randomUUID()} />,
  );
}

export async function create(c: C) {
  const identity = identityOr(c);
  if (identity instanceof Response) return identity;
  const form = await formOf(c);
  const values: NewTenantValues = {
    name: form.name,
    slug: form.slug?.trim().toLowerCase(),
    plan: form.plan,
    admin_email: form.admin_email?.trim(),
  };
  const idempotencyKey = form.idempotency_key || crypto.randomUUID();
  // The form's fields go to the API as typed, unchecked here: its 400 names what is wrong.
  const result = await resultOf(
    c.get("api").POST("/api/v1/tenants", {
      body: values as CreateTenant,
      headers: { "idempotency-key": idempotencyKey },
    }),
  );
  if (!result.ok) {
    return (
      sessionRedirect(c, result) ??
      renderPage(
        c,
        <NewTenantPage
          session={c.get("session")}
          values={values}
          idempotencyKey={idempotencyKey}
          problem={friendly(result.problem, result.retryAfter)}
        />,
        result.status as ContentfulStatusCode,
      )
    );
  }
  return renderPage(c, <TenantCreatedPage session={c.get("session")} created={result.data} />, 201);
}

/** The tenant page; `problem` re-renders it around a failed action (e.g. an API key over quota). */
export async function detail(c: C, problem?: { friendly: FriendlyProblem; status: ContentfulStatusCode }) {
  const identity = identityOr(c);
  if (identity instanceof Response) return identity;
  const api = c.get("api");
  const loaded = await loadTenantDetail(api, c.req.param("slug") ?? "");
  if (!loaded.ok) return failurePage(c, loaded);
  return renderPage(
    c,
    <TenantDetailPage
      session={c.get("session")}
      detail={loaded.detail}
      budget={api.rateLimit()}
      notice={noticeOf(c.req.query("notice"))}
      problem={problem?.friendly}
      keyIdempotency={crypto.randomUUID()}
    />,
    problem?.status ?? 200,
  );
}

export async function provisioning(c: C) {
  const identity = identityOr(c);
  if (identity instanceof Response) return identity;
  const slug = c.req.param("slug") ?? "";
  const jobs = await loadProvisioning(c.get("api"), slug);
  if (!jobs.ok) return failurePage(c, jobs);
  return renderPage(c, <ProvisioningPage session={c.get("session")} slug={slug} jobs={section(jobs)} />);
}

interface LifecycleAction {
  confirm: (tenant: Tenant) => Omit<Confirmation, "action" | "cancel">;
  call: (api: ApiClient, slug: string, form: Record<string, string>) => Promise<ApiResult<unknown>>;
  notice: NoticeKey;
}

const ACTIONS: Record<string, LifecycleAction> = {
  suspend: {
    confirm: (t) => ({
      title: `Suspend ${t.name}?`,
      consequence: `Every request of ${t.slug}'s members and API keys will be refused until it is reactivated, and its namespace is scaled to zero pods.`,
      button: "Suspend tenant",
      danger: true,
      askReason: true,
    }),
    call: (api, id, form) =>
      resultOf(
        api.POST("/api/v1/tenants/{id}/suspend", {
          params: { path: { id } },
          body: { reason: form.reason ?? "" },
        }),
      ),
    notice: "suspended",
  },
  reactivate: {
    confirm: (t) => ({
      title: `Reactivate ${t.name}?`,
      consequence: `${t.slug}'s members and API keys will work again, and its namespace quota is restored.`,
      button: "Reactivate tenant",
      danger: false,
    }),
    call: (api, id) => resultOf(api.POST("/api/v1/tenants/{id}/reactivate", { params: { path: { id } } })),
    notice: "reactivated",
  },
  delete: {
    confirm: (t) => ({
      title: `Delete ${t.name}?`,
      consequence: `${t.slug} disappears for its members at once. It can be restored until its purge date; after that its data and namespace are removed for good.`,
      button: "Delete tenant",
      danger: true,
    }),
    call: (api, id) => resultOf(api.DELETE("/api/v1/tenants/{id}", { params: { path: { id } } })),
    notice: "deleted",
  },
  restore: {
    confirm: (t) => ({
      title: `Restore ${t.name}?`,
      consequence: `${t.slug} becomes active again with all its data.`,
      button: "Restore tenant",
      danger: false,
    }),
    call: (api, id) => resultOf(api.POST("/api/v1/tenants/{id}/restore", { params: { path: { id } } })),
    notice: "restored",
  },
};

/** The action named in the path; only the four above (never an inherited property). */
function actionOf(c: C): LifecycleAction | undefined {
  const name = c.req.param("action") ?? "";
  return Object.hasOwn(ACTIONS, name) ? ACTIONS[name] : undefined;
}

export async function confirmAction(c: C) {
  return lifecyclePage(c, undefined);
}

export async function runAction(c: C) {
  const identity = identityOr(c);
  if (identity instanceof Response) return identity;
  const slug = c.req.param("slug") ?? "";
  const action = actionOf(c);
  if (!action) return notFoundPage(c);
  const result = await action.call(c.get("api"), slug, await formOf(c));
  if (result.ok)
    return c.redirect(`/console/tenants/${encodeURIComponent(slug)}?notice=${action.notice}`, 303);
  return (
    sessionRedirect(c, result) ??
    lifecyclePage(c, { friendly: friendly(result.problem, result.retryAfter), status: result.status })
  );
}

/** The confirmation page of an action, naming the tenant (which the caller must be able to read). */
async function lifecyclePage(c: C, problem: { friendly: FriendlyProblem; status: number } | undefined) {
  const identity = identityOr(c);
  if (identity instanceof Response) return identity;
  const slug = c.req.param("slug") ?? "";
  const action = actionOf(c);
  if (!action) return notFoundPage(c);
  const tenant = await resultOf(
    c.get("api").GET("/api/v1/tenants/{id}", { params: { path: { id: slug } }, headers: inTenant(slug) }),
  );
  if (!tenant.ok) return failurePage(c, tenant);
  const confirm: Confirmation = {
    ...action.confirm(tenant.data),
    action: c.req.path,
    cancel: `/console/tenants/${tenant.data.slug}`,
  };
  return renderPage(
    c,
    <ConfirmPage session={c.get("session")} confirm={confirm} problem={problem?.friendly} />,
    (problem?.status ?? 200) as ContentfulStatusCode,
  );
}
