import type { FC } from "hono/jsx";
import type { CreatedTenant } from "../api-types";
import { Badge, Layout } from "../layout";
import { Secret } from "../secret";
import type { ConsoleSession } from "../session";

/** Shown once, as the answer to the create form: the secrets are never displayed again. */
export const TenantCreatedPage: FC<{ session: ConsoleSession; created: CreatedTenant }> = ({
  session,
  created,
}) => (
  <Layout title="Tenant created" session={session} nav="new-tenant">
    <h1>Tenant {created.tenant.name} created</h1>
    <div class="alert warn" role="status">
      <strong>Copy these secrets now.</strong>
      They are shown only on this page and cannot be retrieved later.
    </div>
    <div class="grid">
      <section class="panel" aria-labelledby="secrets-title">
        <h2 id="secrets-title">One-time secrets</h2>
        <p>
          First admin: <strong>{created.admin.email}</strong>
        </p>
        {created.admin.temporary_password ? (
          <Secret
            id="temporary-password"
            label="Temporary password"
            value={created.admin.temporary_password}
          />
        ) : (
          <p class="hint">This user already existed and keeps their password.</p>
        )}
        <Secret id="api-key" label={`Admin API key “${created.api_key.name}”`} value={created.api_key.key} />
      </section>
      <section class="panel" aria-labelledby="next-title">
        <h2 id="next-title">Provisioning</h2>
        <p>
          Job <code>{created.provisioning_job.kind}</code> is{" "}
          <Badge value={created.provisioning_job.status} />. The tenant page shows how it ends: succeeded, or
          dry_run where the provisioner runs without a cluster (applied nothing).
        </p>
        <a class="button" href={`/console/tenants/${created.tenant.slug}`}>
          Open {created.tenant.slug}
        </a>
      </section>
    </div>
  </Layout>
);
