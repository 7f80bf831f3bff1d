/**
 * Restore from an export (issue 22, item 5): `POST /api/v1/tenants/{id}/import` takes the
 * export's NDJSON as it was downloaded. Into the same tenant id after a real purge (deprovision
 * through the provisioner against the strict fake Kubernetes API), every id comes back, API
 * keys authenticate again and credentials decrypt; into another, empty tenant the rows get new
 * ids and secrets are re-encrypted under the target's key. Bad bodies leave nothing written.
 */
import type { Pool } from "@neondatabase/serverless";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { PURGE_CRON } from "../src/jobs/policy";
import { pools, uniqueSlug } from "./support/db";
import { makeDedicated } from "./support/dedicated";
import { api, bearer, createUser, jsonInit, tokenFor } from "./support/fixtures";
import { expectProblem } from "./support/problems";
import { capturingQueue, deliver, kube, runCron } from "./support/provisioner";

interface Made {
  id: string;
  slug: string;
  key: string;
  keyId: string;
  secret: string;
  credentialId: string;
  webhookId: string;
  webhookSecret: string;
}

interface Report {
  tenant_id: string;
  source_tenant_id: string;
  mode: "restore" | "copy";
  imported: Record<string, number>;
  skipped: Record<string, number>;
  duration_ms: number;
}

/** The rows a restore brings back, as the owner sees them (ids and content), per table. */
const RESTORED_TABLES = ["clusters", "plugins", "credentials", "webhook_endpoints"] as const;

describe("tenant import", () => {
  const db = pools();
  let sys: Record<string, string>;

  beforeAll(async () => {
    const admin = await createUser(db.admin, { isSystemAdmin: true });
    sys = bearer(await tokenFor(admin, null, { isSystemAdmin: true }));
  });

  afterAll(() => db.end());

  async function created<T>(res: Response, status = 201): Promise<T> {
    expect(res.status, await res.clone().text()).toBe(status);
    return (await res.json()) as T;
  }

  async function createTenant(
    plan = "pro",
  ): Promise<{ id: string; slug: string; key: string; keyId: string }> {
    const slug = uniqueSlug("imp");
    const body = await created<{ tenant: { id: string }; api_key: { id: string; key: string } }>(
      await api(
        "/api/v1/tenants",
        jsonInit("POST", { name: `Import ${slug}`, slug, plan, admin_email: `${slug}@example.test` }, sys),
      ),
    );
    return { id: body.tenant.id, slug, key: body.api_key.key, keyId: body.api_key.id };
  }

  /** A tenant with two of each resource, a credential whose value we know, and a webhook endpoint. */
  async function populate(opts: { dedicated?: boolean } = {}): Promise<Made> {
    const tenant = await createTenant("enterprise");
    if (opts.dedicated) await makeDedicated(db.admin, tenant.id, { region: "eu-central" });
    const headers = { "x-api-key": tenant.key };
    const post = async <T>(path: string, body: unknown) =>
      created<T>(await api(path, jsonInit("POST", body, headers)));
    for (const n of [1, 2]) {
      await post("/api/v1/clusters", {
        name: `c${n}`,
        api_server_url: `https://k8s-${n}.example.test`,
        region: "eu",
        labels: { n: String(n) },
      });
      await post("/api/v1/plugins", { name: `p${n}`, version: `1.${n}.0`, config: { n } });
    }
    const secret = `s3cret-${crypto.randomUUID()}`;
    const credential = await post<{ id: string }>("/api/v1/credentials", {
      name: "db",
      kind: "password",
      value: secret,
    });
    await post("/api/v1/credentials", { name: "other", kind: "token", value: `${secret}-2` });
    const webhook = await post<{ id: string; secret: string }>("/api/v1/webhooks", {
      url: "https://hooks.example.test/import",
      events: ["cluster.*"],
    });
    return {
      ...tenant,
      secret,
      credentialId: credential.id,
      webhookId: webhook.id,
      webhookSecret: webhook.secret,
    };
  }

  async function exportOf(tenantId: string): Promise<string> {
    const res = await api(`/api/v1/tenants/${tenantId}/export`, { headers: sys });
    expect(res.status, await res.clone().text()).toBe(200);
    return res.text();
  }

  const importInto = (tenantId: string, body: string, type = "application/x-ndjson") =>
    api(`/api/v1/tenants/${tenantId}/import`, {
      method: "POST",
      headers: { ...sys, "content-type": type },
      body,
    });

  /** Per table: row count and the md5 of the rows in id order, from the database that holds them. */
  async function digest(pool: Pool, tenantId: string, columns: "all" | "content") {
    const out: Record<string, { rows: number; md5: string }> = {};
    for (const table of RESTORED_TABLES) {
      // `content`: what a copy keeps (not ids, tenant or the secret's ciphertext, which a copy re-encrypts).
      const row =
        columns === "all"
          ? "to_jsonb(r) - 'sort_key'"
          : "to_jsonb(r) - 'sort_key' - 'id' - 'tenant_id' - 'ciphertext' - 'iv' - 'secret_ciphertext' - 'secret_iv' - 'updated_at'";
      const sortKey = table === "webhook_endpoints" ? "url" : "name";
      const { rows } = await pool.query<{ n: number; md5: string }>(
        `select count(*)::int as n, md5(coalesce(string_agg((${row})::text, chr(10) order by r.sort_key, r.created_at), '')) as md5
         from (select t.*, t.${sortKey} as sort_key from ${table} t) r where r.tenant_id = $1`,
        [tenantId],
      );
      out[table] = { rows: rows[0]?.n ?? -1, md5: rows[0]?.md5 ?? "" };
    }
    return out;
  }

  async function reveal(tenant: { key: string }, credentialId: string): Promise<string> {
    const res = await api(
      `/api/v1/credentials/${credentialId}/reveal`,
      jsonInit("POST", undefined, { "x-api-key": tenant.key }),
    );
    return (await created<{ value: string }>(res, 200)).value;
  }

  it("into another, empty tenant: new ids, the same content, credentials and webhook secrets re-encrypted for it", async () => {
    const source = await populate();
    const body = await exportOf(source.id);
    const target = await createTenant("enterprise");
    const before = await digest(db.admin, source.id, "content");

    const started = Date.now();
    const report = await created<Report>(await importInto(target.id, body), 200);
    const ms = Date.now() - started;
    expect(report).toMatchObject({ tenant_id: target.id, source_tenant_id: source.id, mode: "copy" });
    expect(report.imported).toMatchObject({ cluster: 2, plugin: 2, credential: 2, webhook_endpoint: 1 });
    const after = await digest(db.admin, target.id, "content");
    expect(after).toEqual(before);
    console.log(
      `import copy: ${body.length} bytes, ${Object.values(report.imported).reduce((a, b) => a + b, 0)} rows in ${ms} ms; digests ${JSON.stringify(after)}`,
    );

    // New ids: nothing of the source's is reused, and the source is untouched.
    const { rows: ids } = await db.admin.query<{ id: string }>(
      "select id from credentials where tenant_id = $1",
      [target.id],
    );
    expect(ids.map((r) => r.id)).not.toContain(source.credentialId);
    expect(await digest(db.admin, source.id, "content")).toEqual(before);
    // Re-encrypted under the target's key: the target reveals the source's plaintext.
    const copied = await db.admin.query<{ id: string }>(
      "select id from credentials where tenant_id = $1 and name = 'db'",
      [target.id],
    );
    expect(await reveal(target, copied.rows[0]?.id as string)).toBe(source.secret);
    // The source's API keys stay the source's.
    const keys = await db.admin.query("select 1 from api_keys where tenant_id = $1", [target.id]);
    expect(keys.rows).toHaveLength(1);
    // Audited, and the copied audit trail says where it came from.
    const audit = await db.admin.query<{ meta: Record<string, unknown> }>(
      "select meta from audit_events where tenant_id = $1 and action = 'tenant.imported'",
      [target.id],
    );
    expect(audit.rows[0]?.meta).toMatchObject({ mode: "copy", source_tenant_id: source.id });

    // Only into a tenant that holds nothing but what its creation made.
    await expectProblem(await importInto(target.id, body), 409, "conflict");
  });

  it("a dedicated tenant's export copies into a shared tenant", async () => {
    const source = await populate({ dedicated: true });
    const body = await exportOf(source.id);
    expect(body).toContain('"isolation":"dedicated"');
    const target = await createTenant("enterprise");
    const report = await created<Report>(await importInto(target.id, body), 200);
    expect(report.imported).toMatchObject({ cluster: 2, plugin: 2, credential: 2, webhook_endpoint: 1 });
    const copied = await db.admin.query<{ id: string }>(
      "select id from credentials where tenant_id = $1 and name = 'db'",
      [target.id],
    );
    expect(await reveal(target, copied.rows[0]?.id as string)).toBe(source.secret);
  });

  it("into the same tenant id after a real purge: ids kept, keys authenticate, credentials decrypt", async () => {
    const source = await populate();
    const { rows: jobs } = await db.admin.query<{ id: string }>(
      "select id from provisioning_jobs where tenant_id = $1 and kind = 'provision'",
      [source.id],
    );
    expect((await deliver(jobs[0]?.id as string)).acked).toBe(true);
    const body = await exportOf(source.id);
    const before = await digest(db.admin, source.id, "all");

    // Delete, age past retention, purge: the deprovision job deletes the namespace for real.
    expect((await api(`/api/v1/tenants/${source.id}`, { method: "DELETE", headers: sys })).status).toBe(202);
    await db.admin.query("update tenants set deleted_at = now() - interval '31 days' where id = $1", [
      source.id,
    ]);
    const { queue } = capturingQueue();
    await runCron(PURGE_CRON, { PROVISION_QUEUE: queue });
    const { rows: deprovision } = await db.admin.query<{ id: string }>(
      "select id from provisioning_jobs where tenant_id = $1 and kind = 'deprovision'",
      [source.id],
    );
    const jobId = deprovision[0]?.id as string;
    let outcome = await deliver(jobId);
    if (outcome.retried) {
      await kube.finishTermination(`tenant-${source.slug}`);
      outcome = await deliver(jobId, { attempts: 2 });
    }
    expect(outcome.acked).toBe(true);
    const gone = await db.admin.query("select 1 from tenants where id = $1", [source.id]);
    expect(gone.rows).toHaveLength(0);
    expect(await digest(db.admin, source.id, "all")).toEqual(
      Object.fromEntries(RESTORED_TABLES.map((t) => [t, { rows: 0, md5: expect.any(String) }])),
    );
    // A stale isolate must not answer for the purged tenant from its cache.
    expect([401, 404]).toContain(
      (await api("/api/v1/clusters", { headers: { "x-api-key": source.key } })).status,
    );

    const started = Date.now();
    const report = await created<Report>(await importInto(source.id, body), 200);
    const ms = Date.now() - started;
    expect(report).toMatchObject({ tenant_id: source.id, mode: "restore" });
    const after = await digest(db.admin, source.id, "all");
    expect(after).toEqual(before);
    console.log(
      `purge + restore: ${body.length} bytes restored in ${ms} ms; rows ${JSON.stringify(Object.fromEntries(Object.entries(after).map(([t, d]) => [t, d.rows])))}, md5 equal before and after`,
    );

    // The first admin key authenticates again, and the credential decrypts as it did.
    expect(await reveal(source, source.credentialId)).toBe(source.secret);
    const tenant = await api(`/api/v1/tenants/${source.id}`, { headers: sys });
    expect(await tenant.json()).toMatchObject({ id: source.id, slug: source.slug, status: "active" });
    // Its namespace comes back through a provision job, like any new tenant's.
    const { rows: provision } = await db.admin.query<{ status: string }>(
      "select status from provisioning_jobs where tenant_id = $1 and kind = 'provision'",
      [source.id],
    );
    expect(provision).toHaveLength(1);

    // The same id again: it exists now.
    await expectProblem(await importInto(source.id, body), 409, "conflict");
  });

  it("refuses what is not a whole export of this deployment, and writes nothing", async () => {
    const source = await populate();
    const body = await exportOf(source.id);
    const lines = body.trimEnd().split("\n");
    const fresh = async () => (await createTenant("enterprise")).id;
    const count = async (tenantId: string) =>
      (
        await db.admin.query<{ n: number }>("select count(*)::int as n from clusters where tenant_id = $1", [
          tenantId,
        ])
      ).rows[0]?.n;

    // Cut short: no end line.
    let target = await fresh();
    await expectProblem(await importInto(target, lines.slice(0, -1).join("\n")), 400, "validation_failed");
    expect(await count(target)).toBe(0);
    // A line that is not JSON, in the middle.
    target = await fresh();
    const broken = [...lines.slice(0, 4), "{not json", ...lines.slice(4)].join("\n");
    await expectProblem(await importInto(target, broken), 400, "malformed_json");
    expect(await count(target)).toBe(0);
    // The sealed bundle altered, or another tenant's export passed off as this one's.
    target = await fresh();
    const sealed = JSON.parse(lines[1] as string) as { data: { sealed: string } };
    const tampered = sealed.data.sealed.replace(/.$/, (c) => (c === "A" ? "B" : "A"));
    await expectProblem(
      await importInto(
        target,
        [lines[0], JSON.stringify({ type: "sealed", data: { sealed: tampered } }), ...lines.slice(2)].join(
          "\n",
        ),
      ),
      400,
      "validation_failed",
    );
    const other = await exportOf((await createTenant("enterprise")).id);
    const swapped = [lines[0], other.split("\n")[1], ...lines.slice(2)].join("\n");
    await expectProblem(await importInto(target, swapped), 400, "validation_failed");
    expect(await count(target)).toBe(0);
    // A count that does not match what arrived.
    const end = JSON.parse(lines.at(-1) as string) as { data: { counts: Record<string, number> } };
    end.data.counts.cluster = 3;
    await expectProblem(
      await importInto(target, [...lines.slice(0, -1), JSON.stringify(end)].join("\n")),
      400,
      "validation_failed",
    );
    expect(await count(target)).toBe(0);
    // Not NDJSON at all; an unknown tenant; a tenant admin instead of a system admin.
    await expectProblem(await importInto(target, body, "text/csv"), 415, "unsupported_media_type");
    await expectProblem(await importInto(crypto.randomUUID(), body), 404, "tenant_not_found");
    const asTenant = await api(`/api/v1/tenants/${target}/import`, {
      method: "POST",
      headers: { "x-api-key": source.key, "content-type": "application/x-ndjson" },
      body,
    });
    expect([401, 403]).toContain(asTenant.status);
    // Empty.
    await expectProblem(await importInto(target, ""), 400, "validation_failed");
  });
});
