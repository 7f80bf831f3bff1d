/**
 * A tenant filled through the API itself, the way a customer would fill it: created by a
 * system admin (first admin, admin API key, provisioning job), then a second API key, a
 * member who accepted an invitation, a pending invitation, a cluster, a plugin, a
 * credential, and a webhook endpoint (on the run's receiver) with one delivery. `markers` lists every id and name of it that must never show up anywhere
 * another tenant can see, and `snapshot` reads all its rows for before/after comparisons.
 *
 * With `dedicated`, the tenant gets a database of its own (test/support/dedicated.ts) right
 * after its creation, before anything of its own is written: its resources, webhooks and
 * their audit records are made through the API into that database, while its identity rows
 * (members, keys, invitations) stay in the control one, as for a tenant created dedicated.
 */
import type { Pool } from "@neondatabase/serverless";
import { expect } from "vitest";
import { uniqueSlug } from "./db";
import { type DedicatedDatabase, makeDedicated } from "./dedicated";
import { api, bearer, createUser, jsonInit, type TestTenant, type TestUser, tokenFor } from "./fixtures";
import { receiverUrl } from "./webhook-receiver";

export interface PopulatedTenant {
  tenant: TestTenant & { name: string };
  admin: TestUser & { token: string };
  member: TestUser & { token: string };
  /** The admin API key made with the tenant. */
  adminKey: { id: string; key: string; prefix: string };
  viewerKey: { id: string; key: string; prefix: string };
  invitationId: string;
  clusterId: string;
  pluginId: string;
  credentialId: string;
  webhookId: string;
  /** A delivery of the webhook (its test event). */
  deliveryId: string;
  jobId: string;
  /** A dedicated tenant's own database; none for a shared tenant. */
  own?: DedicatedDatabase;
  /** Every id, name, email, prefix and secret of the tenant: none may leak to another tenant. */
  markers: string[];
}

export async function systemAdminHeaders(pool: Pool): Promise<Record<string, string>> {
  const sys = await createUser(pool, { isSystemAdmin: true });
  return bearer(await tokenFor(sys, null, { isSystemAdmin: true }));
}

async function created<T>(res: Promise<Response>, status = 201): Promise<T> {
  const response = await res;
  expect(response.status, await response.clone().text()).toBe(status);
  return (await response.json()) as T;
}

let ips = 0;

export async function populateTenant(
  sys: Record<string, string>,
  label: string,
  opts: { plan?: string; dedicated?: { admin: Pool; region?: string } } = {},
): Promise<PopulatedTenant> {
  const slug = uniqueSlug(label);
  const name = `${label} Corp ${slug}`;
  const made = await created<{
    tenant: { id: string; slug: string };
    admin: { user_id: string; email: string };
    api_key: { id: string; key: string; prefix: string };
    provisioning_job: { id: string };
  }>(
    api(
      "/api/v1/tenants",
      jsonInit(
        "POST",
        { name, slug, plan: opts.plan ?? "enterprise", admin_email: `${slug}-owner@example.test` },
        sys,
      ),
    ),
  );
  const tenant = { id: made.tenant.id, slug, name };
  const own = opts.dedicated
    ? await makeDedicated(opts.dedicated.admin, tenant.id, { region: opts.dedicated.region })
    : undefined;
  const adminUser = { id: made.admin.user_id, email: made.admin.email };
  const admin = { ...adminUser, token: await tokenFor(adminUser, tenant) };
  const asAdmin = (path: string, body: unknown) => api(path, jsonInit("POST", body, bearer(admin.token)));

  const viewerKey = await created<{ id: string; key: string; prefix: string }>(
    asAdmin("/api/v1/api-keys", { name: `${slug}-viewer-key`, role: "viewer" }),
  );
  const memberEmail = `${slug}-member@example.test`;
  const invite = await created<{ token: string }>(
    asAdmin("/api/v1/invitations", { email: memberEmail, role: "member" }),
  );
  ips += 1;
  const accepted = await created<{ user_id: string }>(
    api(
      "/api/v1/invitations/accept",
      jsonInit(
        "POST",
        { token: invite.token, name: `${slug} member`, password: `pw-${crypto.randomUUID()}` },
        { "cf-connecting-ip": `198.51.100.${ips % 250}` },
      ),
    ),
    200,
  );
  const memberUser = { id: accepted.user_id, email: memberEmail };
  const member = { ...memberUser, token: await tokenFor(memberUser, tenant) };
  const pendingEmail = `${slug}-pending@example.test`;
  const pending = await created<{ invitation: { id: string } }>(
    asAdmin("/api/v1/invitations", { email: pendingEmail, role: "viewer" }),
  );
  const cluster = await created<{ id: string }>(
    asAdmin("/api/v1/clusters", {
      name: `${slug}-cluster`,
      api_server_url: `https://${slug}.k8s.example.com:6443`,
      region: `${slug}-region`.slice(0, 50),
      labels: { owner: slug.slice(0, 60) },
    }),
  );
  const plugin = await created<{ id: string }>(
    asAdmin("/api/v1/plugins", { name: `${slug}-plugin`, version: "1.2.3", config: { owner: slug } }),
  );
  const secretValue = `${slug}-secret-${crypto.randomUUID()}`;
  const credential = await created<{ id: string }>(
    asAdmin("/api/v1/credentials", { name: `${slug}-credential`, kind: "token", value: secretValue }),
  );
  // A second row of each, so every list has a second page (and a cursor to steal).
  const seconds = await Promise.all([
    created<{ id: string }>(
      asAdmin("/api/v1/clusters", {
        name: `${slug}-cluster-2`,
        api_server_url: "https://k8s-2.example.com",
        region: "eu-2",
      }),
    ),
    created<{ id: string }>(asAdmin("/api/v1/plugins", { name: `${slug}-plugin-2`, version: "2.0.0" })),
    created<{ id: string }>(
      asAdmin("/api/v1/credentials", {
        name: `${slug}-credential-2`,
        kind: "password",
        value: `${secretValue}-2`,
      }),
    ),
    created<{ invitation: { id: string } }>(
      asAdmin("/api/v1/invitations", { email: `${slug}-pending-2@example.test`, role: "member" }),
    ),
  ]);

  // Two endpoints (a list with a second page), subscribed to nothing the rest of a test does
  // by itself; the first one's test event is a delivery.
  const webhooks = [];
  for (const n of [1, 2]) {
    webhooks.push(
      await created<{ id: string; secret: string }>(
        asAdmin("/api/v1/webhooks", { url: receiverUrl(`${slug}-${n}`), events: ["plugin.deleted"] }),
      ),
    );
  }
  const [webhook, secondWebhook] = webhooks as [
    { id: string; secret: string },
    { id: string; secret: string },
  ];
  const delivery = await created<{ id: string }>(
    asAdmin(`/api/v1/webhooks/${webhook.id}/test`, undefined),
    202,
  );

  return {
    tenant,
    admin,
    member,
    adminKey: made.api_key,
    viewerKey,
    invitationId: pending.invitation.id,
    clusterId: cluster.id,
    pluginId: plugin.id,
    credentialId: credential.id,
    webhookId: webhook.id,
    deliveryId: delivery.id,
    jobId: made.provisioning_job.id,
    own,
    markers: [
      tenant.id,
      slug,
      name,
      admin.id,
      admin.email,
      member.id,
      member.email,
      made.api_key.id,
      made.api_key.prefix,
      made.api_key.key,
      viewerKey.id,
      viewerKey.prefix,
      viewerKey.key,
      pending.invitation.id,
      pendingEmail,
      invite.token,
      cluster.id,
      plugin.id,
      credential.id,
      secretValue,
      webhook.id,
      webhook.secret,
      secondWebhook.id,
      secondWebhook.secret,
      receiverUrl(`${slug}-1`),
      delivery.id,
      made.provisioning_job.id,
      ...seconds.map((row) => ("invitation" in row ? row.invitation.id : row.id)),
      `${slug}-pending-2@example.test`,
    ],
  };
}

/** The populated tenant's object id for each `/<collection>/{id}` of the API. */
export function objectIds(t: PopulatedTenant): Record<string, string> {
  return {
    tenants: t.tenant.id,
    members: t.member.id,
    "api-keys": t.viewerKey.id,
    invitations: t.invitationId,
    clusters: t.clusterId,
    plugins: t.pluginId,
    credentials: t.credentialId,
    webhooks: t.webhookId,
    deliveries: t.deliveryId,
  };
}

/** The markers of `victim` that appear in `text`. */
export function leaked(text: string, victim: { markers: string[] }): string[] {
  const lower = text.toLowerCase();
  return victim.markers.filter((marker) => lower.includes(marker.toLowerCase()));
}

/**
 * Columns that legitimately move on their own (the provisioning pipeline, last-use hints);
 * everything else of a tenant must be exactly as it was.
 */
const VOLATILE: Record<string, string[]> = {
  tenants: [],
  tenant_memberships: [],
  invitations: [],
  api_keys: ["last_used_at"],
  clusters: [],
  plugins: [],
  credentials: [],
  tenant_keys: [],
  provisioning_jobs: ["status", "attempts", "last_error", "result", "sent_at", "completed_at", "updated_at"],
  webhook_endpoints: ["failing_since"],
  webhook_deliveries: [
    "status",
    "attempts",
    "response_status",
    "duration_ms",
    "last_error",
    "next_attempt_at",
    "queued_at",
    "locked_until",
    "delivered_at",
  ],
};

/**
 * Every row the tenant owns (read as the owner, past RLS), minus the volatile columns: in the
 * control database, and for a dedicated tenant in its own database too (keys `<table>@own`).
 */
export async function snapshot(control: Pool, victim: PopulatedTenant): Promise<Record<string, unknown[]>> {
  const databases: [string, Pool][] = [["", control]];
  if (victim.own) databases.push(["@own", victim.own.admin]);
  const out: Record<string, unknown[]> = {};
  for (const [suffix, pool] of databases) {
    for (const [table, volatile] of Object.entries(VOLATILE)) {
      const key = table === "tenants" ? "id" : "tenant_id";
      const drop = volatile.map((column) => ` - '${column}'`).join("");
      const { rows } = await pool.query<{ row: unknown }>(
        `select to_jsonb(t)${drop} as row from ${table} t where ${key} = $1 order by to_jsonb(t)::text`,
        [victim.tenant.id],
      );
      out[`${table}${suffix}`] = rows.map((r) => r.row);
    }
  }
  return out;
}
