/**
 * Tenant placement (issue 22): `isolation` and `region` on the tenant, checked against the plan
 * and REGIONS; a move marks the tenant read-only at once (409 `tenant_moving` for its writes,
 * reads unaffected, one move at a time); a dedicated tenant cannot be downgraded off enterprise.
 * The move itself (copy, switch, clean-up) is test/moves.test.ts.
 */
import { env } from "cloudflare:test";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { sealConnection } from "../src/databases/sealed-connection";
import { pools, uniqueSlug } from "./support/db";
import { api, bearer, createUser, jsonInit, type TestUser, tokenFor } from "./support/fixtures";
import { expectProblem } from "./support/problems";

interface Tenant {
  id: string;
  slug: string;
  plan: string;
  isolation: string;
  region: string;
  move_id: string | null;
}

interface Created {
  tenant: Tenant;
  api_key: { key: string };
  move?: { id: string; status: string; to: { isolation: string; region: string }; copy_after: string };
}

describe("tenant placement", () => {
  const db = pools();
  let sys: TestUser;
  let sysHeaders: Record<string, string>;

  beforeAll(async () => {
    sys = await createUser(db.admin, { isSystemAdmin: true });
    sysHeaders = bearer(await tokenFor(sys, null, { isSystemAdmin: true }));
  });

  afterAll(() => db.end());

  const createBody = (body: Record<string, unknown>) => ({
    name: "Placed",
    slug: uniqueSlug("placed"),
    admin_email: `${uniqueSlug("p")}@example.test`,
    ...body,
  });

  async function create(body: Record<string, unknown>): Promise<Created> {
    const res = await api("/api/v1/tenants", jsonInit("POST", createBody(body), sysHeaders));
    expect(res.status, await res.clone().text()).toBe(201);
    return (await res.json()) as Created;
  }

  const keyHeaders = (created: Created) => ({ "x-api-key": created.api_key.key });

  it("a tenant is shared in the control region unless asked otherwise, and says so", async () => {
    const created = await create({ plan: "pro" });
    expect(created.tenant).toMatchObject({ isolation: "shared", region: "us-east", move_id: null });
    expect(created.move).toBeUndefined();
    const res = await api(`/api/v1/tenants/${created.tenant.id}`, { headers: sysHeaders });
    expect(await res.json()).toMatchObject({ isolation: "shared", region: "us-east", move_id: null });
    const { rows } = await db.admin.query<{ meta: Record<string, unknown> }>(
      "select meta from audit_events where tenant_id = $1 and action = 'tenant.created'",
      [created.tenant.id],
    );
    expect(rows[0]?.meta).toMatchObject({ isolation: "shared", region: "us-east" });
  });

  it("dedicated needs the enterprise plan, a known region, and shared tenants stay in the control region", async () => {
    const cases: Array<[Record<string, unknown>, string]> = [
      [{ plan: "pro", isolation: "dedicated", region: "eu-central" }, "isolation"],
      [{ plan: "enterprise", isolation: "dedicated", region: "mars-north" }, "region"],
      [{ plan: "enterprise", isolation: "shared", region: "eu-central" }, "region"],
      [{ plan: "enterprise", isolation: "dedicated", region: "EU central" }, "region"],
      [{ plan: "enterprise", isolation: "isolated" }, "isolation"],
    ];
    for (const [body, path] of cases) {
      const res = await api("/api/v1/tenants", jsonInit("POST", createBody(body), sysHeaders));
      const problem = await expectProblem(res, 400, "validation_failed");
      const errors = (problem as { errors?: Array<{ path: string }> }).errors ?? [];
      expect(
        errors.map((e) => e.path),
        JSON.stringify(body),
      ).toContain(path);
    }
    const { rows } = await db.admin.query(
      "select 1 from tenants where name = 'Placed' and plan = 'pro' and isolation = 'dedicated'",
    );
    expect(rows).toHaveLength(0);
  });

  it("created dedicated, an enterprise tenant starts moving at once: reads work, writes are 409 tenant_moving", async () => {
    const created = await create({ plan: "enterprise", isolation: "dedicated", region: "eu-central" });
    expect(created.move).toMatchObject({
      status: "pending",
      to: { isolation: "dedicated", region: "eu-central" },
    });
    expect(created.tenant.move_id).toBe(created.move?.id);
    // Nothing to wait for: a new tenant has no rows, and every isolate sees it moving.
    expect(Date.parse(created.move?.copy_after ?? "")).toBeLessThanOrEqual(Date.now() + 1_000);

    const read = await api("/api/v1/clusters", { headers: keyHeaders(created) });
    expect(read.status).toBe(200);
    const write = await api(
      "/api/v1/clusters",
      jsonInit(
        "POST",
        { name: "c1", api_server_url: "https://k8s.example.test", region: "eu" },
        keyHeaders(created),
      ),
    );
    await expectProblem(write, 409, "tenant_moving");
    expect(write.headers.get("retry-after")).toBe("30");
    const invite = await api(
      "/api/v1/invitations",
      jsonInit("POST", { email: `${uniqueSlug("i")}@example.test`, role: "member" }, keyHeaders(created)),
    );
    await expectProblem(invite, 409, "tenant_moving");
    const suspend = await api(
      `/api/v1/tenants/${created.tenant.id}/suspend`,
      jsonInit("POST", { reason: "test" }, sysHeaders),
    );
    await expectProblem(suspend, 409, "tenant_moving");
  });

  it("POST /move: 202 with the move, then one move at a time; the tenant's writes are refused meanwhile", async () => {
    const created = await create({ plan: "enterprise" });
    const res = await api(
      `/api/v1/tenants/${created.tenant.slug}/move`,
      jsonInit("POST", { isolation: "dedicated", region: "ap-southeast" }, sysHeaders),
    );
    expect(res.status, await res.clone().text()).toBe(202);
    const move = (await res.json()) as {
      id: string;
      status: string;
      from: { isolation: string };
      copy_after: string;
    };
    expect(move).toMatchObject({ status: "pending", from: { isolation: "shared" } });
    // Past the tenant cache's TTL, so every isolate has seen the tenant read-only first.
    expect(Date.parse(move.copy_after) - Date.now()).toBeGreaterThan(25_000);

    // Without a region, a dedicated move keeps the tenant's region.
    const other = await create({ plan: "enterprise" });
    const kept = await api(
      `/api/v1/tenants/${other.tenant.id}/move`,
      jsonInit("POST", { isolation: "dedicated" }, sysHeaders),
    );
    expect(kept.status, await kept.clone().text()).toBe(202);
    expect(await kept.json()).toMatchObject({ to: { isolation: "dedicated", region: "us-east" } });

    const again = await api(
      `/api/v1/tenants/${created.tenant.id}/move`,
      jsonInit("POST", { isolation: "dedicated", region: "eu-central" }, sysHeaders),
    );
    await expectProblem(again, 409, "tenant_moving");
    const write = await api(
      "/api/v1/plugins",
      jsonInit("POST", { name: "p1", version: "1.0.0" }, keyHeaders(created)),
    );
    await expectProblem(write, 409, "tenant_moving");
    const { rows } = await db.admin.query<{ action: string; meta: Record<string, unknown> }>(
      "select action, meta from audit_events where tenant_id = $1 and action = 'tenant.move_requested'",
      [created.tenant.id],
    );
    expect(rows[0]?.meta).toMatchObject({
      move_id: move.id,
      from: { isolation: "shared", region: "us-east" },
      to: { isolation: "dedicated", region: "ap-southeast" },
    });
  });

  it("refuses a move that cannot be: not enterprise, already there, unknown region, unknown tenant", async () => {
    const pro = await create({ plan: "pro" });
    await expectProblem(
      await api(
        `/api/v1/tenants/${pro.tenant.id}/move`,
        jsonInit("POST", { isolation: "dedicated" }, sysHeaders),
      ),
      409,
      "conflict",
    );
    await expectProblem(
      await api(
        `/api/v1/tenants/${pro.tenant.id}/move`,
        jsonInit("POST", { isolation: "shared" }, sysHeaders),
      ),
      409,
      "conflict",
    );
    await expectProblem(
      await api(
        `/api/v1/tenants/${pro.tenant.id}/move`,
        jsonInit("POST", { isolation: "dedicated", region: "mars-north" }, sysHeaders),
      ),
      400,
      "validation_failed",
    );
    await expectProblem(
      await api(
        `/api/v1/tenants/${uniqueSlug("nobody")}/move`,
        jsonInit("POST", { isolation: "shared" }, sysHeaders),
      ),
      404,
      "tenant_not_found",
    );
    const { rows } = await db.admin.query("select 1 from tenant_moves where tenant_id = $1", [pro.tenant.id]);
    expect(rows).toHaveLength(0);
    // A tenant admin is not a system admin.
    const asTenant = await api(
      `/api/v1/tenants/${pro.tenant.id}/move`,
      jsonInit("POST", { isolation: "shared" }, keyHeaders(pro)),
    );
    expect([401, 403]).toContain(asTenant.status);
  });

  it("a dedicated tenant's plan cannot leave enterprise (409); a shared one's can", async () => {
    const created = await create({ plan: "enterprise" });
    // Made dedicated by hand here (pointing at the control database itself): the move
    // machinery is another test's subject.
    const databaseId = crypto.randomUUID();
    const sealed = await sealConnection(
      env.MASTER_KEY,
      { tenantId: created.tenant.id, databaseId },
      env.DATABASE_URL,
    );
    await db.admin.query(
      `with d as (insert into tenant_databases (id, tenant_id, provider, ref, region, connection_sealed)
                  values ($3, $1, 'local', $2, 'eu-central', $4) returning id)
       update tenants set isolation = 'dedicated', region = 'eu-central', database_id = (select id from d) where id = $1`,
      [created.tenant.id, `tenantry_t_${created.tenant.id.replaceAll("-", "")}`, databaseId, sealed],
    );
    const res = await api(
      `/api/v1/tenants/${created.tenant.id}`,
      jsonInit("PATCH", { plan: "pro" }, sysHeaders),
    );
    await expectProblem(res, 409, "conflict");
    const { rows } = await db.admin.query<{ plan: string }>("select plan from tenants where id = $1", [
      created.tenant.id,
    ]);
    expect(rows[0]?.plan).toBe("enterprise");

    const shared = await create({ plan: "enterprise" });
    const ok = await api(
      `/api/v1/tenants/${shared.tenant.id}`,
      jsonInit("PATCH", { plan: "pro" }, sysHeaders),
    );
    expect(ok.status).toBe(200);
  });
});
