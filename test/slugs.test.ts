/**
 * Security item 8: slugs that cannot impersonate. A slug is a subdomain and a selector, so
 * it may be neither one of DESIGN.md's reserved names (they look like our own hosts) nor
 * shaped like a uuid (a selector of that shape is read as another tenant's id).
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { pools, uniqueSlug } from "./support/db";
import { api, bearer, jsonInit, tenantWithRoles } from "./support/fixtures";
import { systemAdminHeaders } from "./support/populated-tenant";
import { expectProblem } from "./support/problems";

/** Copied from DESIGN.md on purpose: the test holds the code to the document, not to itself. */
const RESERVED =
  "www api admin app auth static console docs mail metrics health status assets cdn dashboard billing support help system internal root".split(
    " ",
  );

describe("tenant slugs", () => {
  const db = pools();
  let sysHeaders: Record<string, string>;

  beforeAll(async () => {
    sysHeaders = await systemAdminHeaders(db.admin);
  });

  afterAll(() => db.end());

  const create = (slug: string) =>
    api(
      "/api/v1/tenants",
      jsonInit(
        "POST",
        { name: "Impostor", slug, admin_email: `${uniqueSlug("a")}@example.test` },
        sysHeaders,
      ),
    );

  async function expectSlugRefused(slug: string, message: RegExp): Promise<void> {
    const body = await expectProblem(await create(slug), 400, "validation_failed");
    expect(body.errors, slug).toContainEqual(
      expect.objectContaining({ path: "slug", message: expect.stringMatching(message) }),
    );
    const { rows } = await db.admin.query("select 1 from tenants where slug = $1", [slug]);
    expect(rows, slug).toEqual([]);
  }

  it("DESIGN.md reserves 21 names, each of them a well-formed slug otherwise", () => {
    expect(RESERVED).toHaveLength(21);
    expect(new Set(RESERVED).size).toBe(21);
    for (const name of RESERVED) expect(name).toMatch(/^[a-z0-9](?:[a-z0-9-]{1,38}[a-z0-9])$/);
  });

  it("refuses every reserved name as a slug: 400 validation_failed on `slug`", async () => {
    for (const name of RESERVED) await expectSlugRefused(name, /reserved/);
  });

  it("refuses a uuid-shaped slug, which a selector would read as a tenant id", async () => {
    for (const slug of [crypto.randomUUID(), "00000000-0000-0000-0000-000000000000"]) {
      await expectSlugRefused(slug, /uuid/);
    }
  });

  it("accepts a slug that only resembles a uuid (not hex)", async () => {
    const slug = crypto.randomUUID().replace(/^./, "g");
    const res = await create(slug);
    expect(res.status, await res.clone().text()).toBe(201);
  });

  it("a reserved subdomain never selects a tenant", async () => {
    const { users } = await tenantWithRoles(db.admin);
    for (const name of RESERVED) {
      const host = `${name}.localhost`;
      // No selector left: a system admin must name a tenant. Had the subdomain counted, this
      // would be a lookup of that slug (404 tenant_not_found).
      await expectProblem(
        await api("/api/v1/members", { host, headers: sysHeaders }),
        400,
        "tenant_required",
      );
      // A member's own tenant stands: no mismatch with a tenant called `name`.
      const own = await api("/api/v1/members", { host, headers: bearer(users.viewer.token) });
      expect(own.status, host).toBe(200);
      const { data } = (await own.json()) as { data: Array<{ user_id: string }> };
      expect(data.map((m) => m.user_id).sort(), host).toEqual(
        Object.values(users)
          .map((u) => u.id)
          .sort(),
      );
    }
  });
});
