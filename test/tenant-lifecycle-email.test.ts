import { env } from "cloudflare:workers";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { loadConfig } from "../src/env";
import { pools } from "./support/db";
import {
  addMember,
  api,
  createUser,
  jsonInit,
  type TestTenant,
  type TestUser,
  tenantWithRoles,
} from "./support/fixtures";
import { type CaughtEmail, emailOfNotification } from "./support/mail";
import { systemAdminHeaders } from "./support/populated-tenant";
import { expectProblem } from "./support/problems";

/**
 * A tenant's admins hear of its lifecycle (issue 21): suspended (with the reason), reactivated,
 * deleted with its purge date. The rows are written by the change's own batch, one per admin,
 * and sent by the notifications consumer to the run's mail catcher.
 */
describe("tenant lifecycle emails", () => {
  const db = pools();
  let sys: Record<string, string>;
  let tenant: TestTenant;
  let admins: TestUser[];
  let member: TestUser;

  beforeAll(async () => {
    sys = await systemAdminHeaders(db.admin);
    const roles = await tenantWithRoles(db.admin);
    tenant = roles.tenant;
    member = roles.users.member;
    const second = await createUser(db.admin);
    await addMember(db.admin, tenant, second, "admin");
    admins = [roles.users.admin, second];
    // A name that would be markup if it were not escaped.
    await db.admin.query("update tenants set name = $2 where id = $1", [tenant.id, "Acme <b>& Co</b>"]);
  });
  afterAll(() => db.end());

  /** The lifecycle notifications of the tenant written since `since`, by recipient. */
  async function notices(event: string, since: string) {
    const { rows } = await db.admin.query<{
      id: string;
      recipient: string;
      payload: Record<string, unknown>;
    }>(
      `select id, recipient, payload from notifications
        where tenant_id = $1 and template = 'tenant_lifecycle' and payload->>'event' = $2 and created_at >= $3
        order by recipient`,
      [tenant.id, event, since],
    );
    return rows;
  }

  async function delivered(event: string, since: string): Promise<CaughtEmail[]> {
    const rows = await notices(event, since);
    expect(rows.map((r) => r.recipient).sort()).toEqual(admins.map((a) => a.email).sort());
    return Promise.all(rows.map((r) => emailOfNotification(r.id)));
  }

  const now = async () =>
    (await db.admin.query<{ t: string }>("select now()::text as t")).rows[0]?.t as string;

  it("suspend: every admin, and no one else, is told why; a refused suspend tells no one", async () => {
    const since = await now();
    const res = await api(
      `/api/v1/tenants/${tenant.id}/suspend`,
      jsonInit("POST", { reason: "unpaid invoice <#42>" }, sys),
    );
    expect(res.status).toBe(200);
    const emails = await delivered("suspended", since);
    for (const email of emails) {
      expect(email.subject).toBe("Acme <b>& Co</b> is suspended on Tenantry");
      expect(email.text).toContain(`The tenant Acme <b>& Co</b> (${tenant.slug}) was suspended`);
      expect(email.text).toContain("Reason given: unpaid invoice <#42>");
      expect(email.html).toContain("Acme &lt;b&gt;&amp; Co&lt;/b&gt;");
      expect(email.html).not.toContain("<b>");
    }
    expect((await notices("suspended", since)).map((r) => r.recipient)).not.toContain(member.email);

    await expectProblem(
      await api(`/api/v1/tenants/${tenant.id}/suspend`, jsonInit("POST", { reason: "again" }, sys)),
      409,
      "conflict",
    );
    expect(await notices("suspended", since)).toHaveLength(admins.length);
  });

  it("reactivate, and PATCH status: told only when the status changes", async () => {
    const since = await now();
    expect(
      (await api(`/api/v1/tenants/${tenant.id}/reactivate`, { method: "POST", headers: sys })).status,
    ).toBe(200);
    const [email] = await delivered("reactivated", since);
    expect(email?.subject).toBe("Acme <b>& Co</b> is active again on Tenantry");

    // PATCH to the status it already has changes nothing, and says nothing.
    const unchanged = await api(`/api/v1/tenants/${tenant.id}`, jsonInit("PATCH", { status: "active" }, sys));
    expect(unchanged.status).toBe(200);
    expect(await notices("reactivated", since)).toHaveLength(admins.length);

    const patched = await api(
      `/api/v1/tenants/${tenant.id}`,
      jsonInit("PATCH", { status: "suspended" }, sys),
    );
    expect(patched.status).toBe(200);
    await delivered("suspended", since);
    expect(
      (await api(`/api/v1/tenants/${tenant.id}/reactivate`, { method: "POST", headers: sys })).status,
    ).toBe(200);
  });

  it("delete: the admins learn when the data will be purged", async () => {
    const since = await now();
    const res = await api(`/api/v1/tenants/${tenant.id}`, { method: "DELETE", headers: sys });
    expect(res.status).toBe(202);
    const { purge_after } = (await res.json()) as { purge_after: string };
    const rows = await notices("deletion_scheduled", since);
    const retentionDays = loadConfig(env).RETENTION_DAYS;
    for (const row of rows) {
      const stated = Date.parse(String(row.payload.purge_after));
      expect(Math.abs(stated - Date.parse(purge_after))).toBeLessThan(1_000);
      expect(stated - Date.now()).toBeGreaterThan((retentionDays - 1) * 86_400_000);
    }
    const emails = await delivered("deletion_scheduled", since);
    for (const email of emails) {
      expect(email.subject).toBe("Acme <b>& Co</b> was deleted on Tenantry");
      expect(email.text).toContain(
        `Its data is kept until ${purge_after.slice(0, 16).replace("T", " ")} UTC`,
      );
    }
  });
});
