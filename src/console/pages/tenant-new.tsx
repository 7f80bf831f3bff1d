import type { FC } from "hono/jsx";
import { PLANS } from "../../db/schema";
import { CsrfField, Layout, ProblemAlert } from "../layout";
import type { FriendlyProblem } from "../messages";
import type { ConsoleSession } from "../session";

export interface NewTenantValues {
  name?: string;
  slug?: string;
  plan?: string;
  admin_email?: string;
}

interface NewTenantProps {
  session: ConsoleSession;
  values: NewTenantValues;
  /** Sent as Idempotency-Key, so a double submit creates one tenant. */
  idempotencyKey: string;
  problem?: FriendlyProblem;
}

export const NewTenantPage: FC<NewTenantProps> = ({ session, values, idempotencyKey, problem }) => (
  <Layout title="Create tenant" session={session} nav="new-tenant">
    <section class="panel narrow" aria-labelledby="new-tenant-title">
      <h1 id="new-tenant-title">Create tenant</h1>
      <p class="sub">
        Creates the tenant, its first admin and an admin API key, and starts provisioning its namespace. The
        secrets are shown once, on the next page.
      </p>
      {problem && <ProblemAlert problem={problem} />}
      <form method="post" action="/console/tenants">
        <CsrfField session={session} />
        <input type="hidden" name="idempotency_key" value={idempotencyKey} />
        <div class="field">
          <label for="name">Name</label>
          <input
            id="name"
            name="name"
            required
            maxlength={100}
            value={values.name}
            autocomplete="organization"
          />
        </div>
        <div class="field">
          <label for="slug">Slug</label>
          <input
            id="slug"
            name="slug"
            required
            pattern="[a-z0-9][a-z0-9\-]{1,38}[a-z0-9]"
            value={values.slug}
            aria-describedby="slug-hint"
            autocomplete="off"
          />
          <span id="slug-hint" class="hint">
            3–40 lowercase letters, digits and inner hyphens. It becomes the subdomain and the namespace
            tenant-&lt;slug&gt;, and cannot change later.
          </span>
        </div>
        <div class="field">
          <label for="plan">Plan</label>
          <select id="plan" name="plan">
            {PLANS.map((p) => (
              <option value={p} selected={p === (values.plan ?? "free")}>
                {p}
              </option>
            ))}
          </select>
        </div>
        <div class="field">
          <label for="admin_email">First admin's email</label>
          <input
            id="admin_email"
            name="admin_email"
            type="email"
            required
            maxlength={254}
            value={values.admin_email}
            aria-describedby="admin-hint"
          />
          <span id="admin-hint" class="hint">
            A new address gets a temporary password; an existing user simply becomes admin.
          </span>
        </div>
        <button type="submit">Create tenant</button>
      </form>
    </section>
  </Layout>
);
