import type { FC } from "hono/jsx";
import { PLANS } from "../../db/schema";
import { CsrfField, Field, Layout, ProblemAlert } from "../layout";
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
        <Field id="name" label="Name">
          <input
            id="name"
            name="name"
            required
            maxlength={100}
            value={values.name}
            autocomplete="organization"
          />
        </Field>
        <Field id="slug" label="Slug">
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
        </Field>
        <Field id="plan" label="Plan">
          <select id="plan" name="plan">
            {PLANS.map((p) => (
              <option value={p} selected={p === (values.plan ?? "free")}>
                {p}
              </option>
            ))}
          </select>
        </Field>
        <Field id="admin_email" label="First admin's email">
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
        </Field>
        <button type="submit">Create tenant</button>
      </form>
    </section>
  </Layout>
);
