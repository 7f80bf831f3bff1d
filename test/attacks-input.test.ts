import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { attackCounter, expectHandled, findKey, routeOf, SQL_INJECTION } from "./support/attack";
import { pools } from "./support/db";
import { bearer, createTenant, jsonInit, type TestTenant, tenantWithRoles } from "./support/fixtures";
import { type Api, exampleBody, loadApi, type Operation, stringFields } from "./support/openapi";
import {
  objectIds,
  type PopulatedTenant,
  populateTenant,
  systemAdminHeaders,
} from "./support/populated-tenant";
import { expectProblem } from "./support/problems";

/**
 * Hostile input, generated from the OpenAPI document: SQL in every string field, query and
 * path parameter (stored verbatim, never executed), mass assignment on every body, spoofed
 * hosts and tenant headers, and bodies that are too deep, duplicated, mistyped or not UTF-8.
 */
describe("hostile input", () => {
  const db = pools();
  const attack = attackCounter("input attacks");
  let doc: Api;
  let sys: Record<string, string>;
  let home: PopulatedTenant;
  let stranger: TestTenant;
  const run = crypto.randomUUID().slice(0, 8);
  let ips = 0;

  beforeAll(async () => {
    doc = await loadApi();
    sys = await systemAdminHeaders(db.admin);
    home = await populateTenant(sys, "home");
    stranger = await createTenant(db.admin);
  });

  afterAll(() => db.end());

  /** Who calls an operation: nobody (with a fresh client address) on public routes, else a fitting admin. */
  function headersFor(op: Operation): Record<string, string> {
    const { access } = routeOf(op.method, op.path);
    // A /64 of its own per request: per-IP limits meter an IPv6 client by its /64.
    if (access.kind === "public")
      return { "cf-connecting-ip": `2001:db8:${run.slice(0, 4)}:${(++ips).toString(16)}::1` };
    if (access.kind === "system") return sys;
    return bearer(home.admin.token);
  }

  /** The operation's path with real objects of the home tenant (a fresh tenant to suspend or move). */
  async function pathFor(op: Operation, swap?: { param: string; value: string }): Promise<string> {
    const fresh = op.path.endsWith("/suspend") || op.path.endsWith("/move");
    const objects: Record<string, string> = {
      ...objectIds(home),
      tenants: fresh ? (await createTenant(db.admin, { plan: "enterprise" })).id : home.tenant.id,
    };
    return op.path.replace(/\/([^/{]+)\/\{([^}]+)\}/g, (_, collection: string, param: string) => {
      if (swap?.param === param) return `/${collection}/${encodeURIComponent(swap.value)}`;
      const id = objects[collection];
      if (!id) throw new Error(`no object for /${collection}/{${param}}`);
      return `/${collection}/${id}`;
    });
  }

  /** A body the operation accepts; the tenant switch must name a tenant the caller is in. */
  function validBody(op: Operation): Record<string, unknown> {
    const body = exampleBody(doc, op.body ?? {});
    if ("tenant" in body) body.tenant = home.tenant.slug;
    // A fresh tenant is shared already: the move that can be made is to dedicated.
    if (op.path.endsWith("/move")) body.isolation = "dedicated";
    return body;
  }

  const withBody = () => doc.operations.filter((op) => op.body);

  describe("SQL injection", () => {
    it("in every string field of every body: answered, stored verbatim, never executed", async () => {
      const { rows: before } = await db.admin.query<{ n: number }>(
        "select (select count(*) from tenants)::int + (select count(*) from audit_events)::int as n",
      );
      let stored = 0;
      for (const op of withBody()) {
        for (const field of stringFields(doc, op.body ?? {})) {
          for (const payload of SQL_INJECTION) {
            const body = { ...validBody(op), [field]: payload };
            const label = `${op.method} ${op.path} ${field}=${payload}`;
            const res = await attack.send(await pathFor(op), jsonInit(op.method, body, headersFor(op)));
            const answer = await expectHandled(res, label);
            if (res.status >= 300) continue;
            const echoed = findKey(answer, field === "reason" ? "suspend_reason" : field);
            if (typeof echoed === "string" && field !== "email") {
              expect(echoed, label).toBe(payload);
              stored += 1;
            }
          }
        }
      }
      console.info(`SQL injection: ${stored} payloads stored and answered verbatim`);
      expect(stored).toBeGreaterThanOrEqual(SQL_INJECTION.length * 5);
      const { rows } = await db.admin.query<{ pwned: number; tables: number; n: number }>(
        `select (select count(*) from tenants where name = 'pwned')::int as pwned,
                (select count(*) from pg_tables where tablename in ('tenants', 'audit_events', 'users', 'api_keys'))::int as tables,
                (select count(*) from tenants)::int + (select count(*) from audit_events)::int as n`,
      );
      expect(rows[0]).toMatchObject({ pwned: 0, tables: 4 });
      expect(rows[0]?.n).toBeGreaterThan(before[0]?.n ?? 0);
    });

    it("in every query parameter: 200 with literal matches only, or a 4xx problem", async () => {
      let filtered = 0;
      for (const op of doc.operations.filter((o) => o.method === "GET")) {
        for (const param of op.params.filter((p) => p.in === "query")) {
          for (const payload of ["%", "_", ...SQL_INJECTION]) {
            const path = `${await pathFor(op)}?${new URLSearchParams({ [param.name]: payload })}`;
            const res = await attack.send(path, { headers: headersFor(op) });
            const label = `${op.method} ${op.path}?${param.name}=${payload}`;
            const answer = await expectHandled(res, label);
            if (res.status !== 200 || !Array.isArray(answer.data)) continue;
            filtered += 1;
            for (const row of answer.data as Record<string, unknown>[]) {
              // A filter matches literally: LIKE wildcards and quotes are just characters.
              const haystack = [row.name, row.slug, row.action, row.actor_id].map(String).join(" ");
              expect(haystack.toLowerCase(), label).toContain(payload.toLowerCase());
            }
          }
        }
      }
      expect(filtered).toBeGreaterThanOrEqual(3 * (SQL_INJECTION.length + 2));
    });

    it("in every path parameter: 400 or 404, never a row", async () => {
      for (const op of doc.operations) {
        for (const param of op.params.filter((p) => p.in === "path")) {
          for (const payload of SQL_INJECTION) {
            const path = await pathFor(op, { param: param.name, value: payload });
            const init = op.body
              ? jsonInit(op.method, validBody(op), headersFor(op))
              : { method: op.method, headers: headersFor(op) };
            const res = await attack.send(path, init);
            await expectHandled(res, `${op.method} ${path}`);
            expect([400, 404], `${op.method} ${path}`).toContain(res.status);
          }
        }
      }
    });

    it("in X-Tenant-ID, Idempotency-Key and X-Request-ID headers", async () => {
      for (const payload of SQL_INJECTION) {
        const selected = await attack.send("/api/v1/members", {
          headers: { ...bearer(home.admin.token), "x-tenant-id": payload },
        });
        await expectProblem(selected, 400, "validation_failed");
        const keyed = await attack.send(
          "/api/v1/api-keys",
          jsonInit(
            "POST",
            { name: `idem ${payload}`, role: "viewer" },
            { ...bearer(home.admin.token), "idempotency-key": payload },
          ),
        );
        await expectHandled(keyed, `Idempotency-Key: ${payload}`);
        const traced = await attack.send("/health/live", { headers: { "x-request-id": payload } });
        expect(traced.headers.get("x-request-id")).not.toBe(payload);
      }
    });
  });

  describe("mass assignment", () => {
    const FOREIGN = (tenantId: string): Record<string, unknown> => ({
      tenant_id: tenantId,
      is_system_admin: true,
      role: "admin",
      id: crypto.randomUUID(),
      created_at: "2000-01-01T00:00:00Z",
      created_by: crypto.randomUUID(),
      status: "active",
    });

    it("every body refuses fields it does not declare (400, nothing written), and accepts itself without them", async () => {
      let refused = 0;
      for (const op of withBody()) {
        expect(op.body?.additionalProperties, `${op.method} ${op.path} accepts unknown fields`).toBe(false);
        const declared = Object.keys(op.body?.properties ?? {});
        const extras = Object.entries(FOREIGN(stranger.id)).filter(([field]) => !declared.includes(field));
        const raw = (body: Record<string, unknown>, tail: string) =>
          `${JSON.stringify(body).slice(0, -1)},${tail}}`;
        const attempts = [
          ...extras.map(([field, value]) => JSON.stringify({ ...validBody(op), [field]: value })),
          raw(validBody(op), '"__proto__":{"is_system_admin":true,"role":"admin"}'),
          raw(validBody(op), '"constructor":{"prototype":{"is_system_admin":true}}'),
        ];
        for (const body of attempts) {
          const requestId = `mass-${crypto.randomUUID()}`;
          const res = await attack.send(await pathFor(op), {
            method: op.method,
            headers: { ...headersFor(op), "content-type": "application/json", "x-request-id": requestId },
            body,
          });
          const problem = await expectProblem(res, 400, "validation_failed");
          expect(
            problem.errors?.map((e) => e.code),
            `${op.method} ${op.path} ${body}`,
          ).toContain("unrecognized_keys");
          const { rows } = await db.admin.query("select 1 from audit_events where request_id = $1", [
            requestId,
          ]);
          expect(rows).toEqual([]);
          refused += 1;
        }
        // No control for public routes, nor for a password change: its valid body needs the
        // caller's real password, and succeeding would revoke the token the suite runs on.
        if (routeOf(op.method, op.path).access.kind === "public" || op.path === "/api/v1/auth/password")
          continue;
        const control = await attack.send(
          await pathFor(op),
          jsonInit(op.method, validBody(op), headersFor(op)),
        );
        expect(
          control.status,
          `${op.method} ${op.path} control: ${await control.clone().text()}`,
        ).toBeLessThan(300);
      }
      expect(refused).toBeGreaterThanOrEqual(withBody().length * 5);
    });

    it("a tenant admin cannot set plan, quotas, features or status of their own tenant", async () => {
      for (const body of [
        { plan: "enterprise" },
        { quota_overrides: { api_calls_per_hour: 1_000_000_000 } },
        { features: { sso: true } },
        { status: "active" },
      ]) {
        const res = await attack.send(
          `/api/v1/tenants/${home.tenant.id}`,
          jsonInit("PATCH", { name: "still mine", ...body }, bearer(home.admin.token)),
        );
        await expectProblem(res, 403, "forbidden");
      }
      const { rows } = await db.admin.query("select name, plan, quota_overrides from tenants where id = $1", [
        home.tenant.id,
      ]);
      expect(rows[0]).toMatchObject({ plan: "enterprise", quota_overrides: {} });
      expect(rows[0]?.name).not.toBe("still mine");
    });
  });

  describe("Host header and X-Tenant-ID spoofing", () => {
    let victim: Awaited<ReturnType<typeof tenantWithRoles>>;
    beforeAll(async () => {
      victim = await tenantWithRoles(db.admin);
    });

    const members = (host: string, headers: Record<string, string> = {}) =>
      attack.send("/api/v1/members", { host, headers: { ...bearer(home.admin.token), ...headers } });

    it("host variants that name the victim are the victim (403); anything else is not a selector", async () => {
      const slug = victim.tenant.slug;
      const naming = [
        `${slug}.localhost`,
        `${slug.toUpperCase()}.LOCALHOST`,
        `${slug}.localhost.`,
        `${slug}.localhost:8787`,
        `${slug}.localhost:1`,
      ];
      for (const host of naming) await expectProblem(await members(host), 403, "tenant_mismatch");
      const elsewhere = [
        "evil.com",
        `${slug}.evil.com`,
        `a.${slug}.localhost`,
        `${slug}.localhost.evil.com`,
        `${slug}-localhost`,
        "www.localhost",
        "localhost",
      ];
      for (const host of elsewhere) {
        const res = await members(host);
        expect(res.status, host).toBe(200);
        const text = await res.text();
        expect(text, host).toContain(home.admin.id);
        expect(text, host).not.toContain(victim.users.admin.id);
      }
      const forwarded = await members("localhost", {
        "x-forwarded-host": `${slug}.localhost`,
        forwarded: `host=${slug}.localhost`,
      });
      expect(forwarded.status).toBe(200);
      await expectProblem(
        await members(`${home.tenant.slug}.localhost`, { "x-tenant-id": slug }),
        400,
        "tenant_conflict",
      );
      const anonymous = await attack.send("/api/v1/members", { host: `${slug}.localhost` });
      await expectProblem(anonymous, 401, "unauthenticated");
    });

    it("X-Tenant-ID: malformed, unicode, huge and list values are 400; padded, uppercase or unknown ones mismatch", async () => {
      const malformed = [
        "",
        " ",
        "*",
        "%",
        "ab",
        victim.tenant.slug.toUpperCase(),
        `${victim.tenant.slug},${home.tenant.slug}`,
        "acm\u00e9",
        "\u00c3\u00a9acme",
        "\uff41\uff43\uff4d\uff45",
        "\u0430cme",
        "a".repeat(41),
        "a".repeat(10_000),
        `${victim.tenant.id}_x`,
        "../tenants",
      ];
      for (const value of malformed) {
        const res = await members("localhost", { "x-tenant-id": value });
        const body = await expectHandled(res, `X-Tenant-ID: ${value.slice(0, 40)}`);
        expect([200, 400], value.slice(0, 40)).toContain(res.status);
        if (res.status === 200) expect(value.trim(), "only an absent selector may pass").toBe("");
        else expect(body.code).toBe("validation_failed");
      }
      // Well-formed selectors of another (or no) tenant: refused before existence is looked at.
      for (const value of [
        ` ${victim.tenant.slug} `,
        victim.tenant.id.toUpperCase(),
        `\t${victim.tenant.id}`,
        "acme\u00a0",
        "null",
        "default",
        crypto.randomUUID(),
      ]) {
        await expectProblem(await members("localhost", { "x-tenant-id": value }), 403, "tenant_mismatch");
      }
    });
  });

  describe("bodies", () => {
    const post = (body: BodyInit, contentType?: string) =>
      attack.send("/api/v1/api-keys", {
        method: "POST",
        headers: { ...bearer(home.admin.token), ...(contentType ? { "content-type": contentType } : {}) },
        body,
      });

    it("duplicate keys: the last one wins, and what is answered is what is stored", async () => {
      const res = await post(
        `{"name":"dup-first-${run}","role":"viewer","name":"dup-last-${run}","role":"member"}`,
        "application/json",
      );
      expect(res.status).toBe(201);
      const created = (await res.json()) as { id: string; name: string; role: string };
      expect(created).toMatchObject({ name: `dup-last-${run}`, role: "member" });
      const { rows } = await db.admin.query("select name, role from api_keys where id = $1", [created.id]);
      expect(rows[0]).toEqual({ name: created.name, role: created.role });
      // A duplicate cannot smuggle an undeclared field past the strict schema either.
      const smuggled = await post(
        `{"name":"x","role":"viewer","tenant_id":"${stranger.id}","tenant_id":null}`,
        "application/json",
      );
      await expectProblem(smuggled, 400, "validation_failed");
    });

    it("deeply nested and very wide JSON is a 400, never a crash", async () => {
      const depth = 100_000;
      for (const body of [
        `${"[".repeat(depth)}${"]".repeat(depth)}`,
        `${'{"a":'.repeat(depth)}1${"}".repeat(depth)}`,
        `{"name":${"[".repeat(depth)}${"]".repeat(depth)},"role":"viewer"}`,
        `{${Array.from({ length: 40_000 }, (_, i) => `"k${i}":${i}`).join(",")}}`,
      ]) {
        await expectProblem(await post(body, "application/json"), 400, "validation_failed");
      }
      const plugin = await attack.send("/api/v1/plugins", {
        method: "POST",
        headers: { ...bearer(home.admin.token), "content-type": "application/json" },
        body: `{"name":"deep-${run}","version":"1.0.0","config":{"k":${"[".repeat(depth)}${"]".repeat(depth)}}}`,
      });
      await expectProblem(plugin, 400, "validation_failed");
      const settings = await attack.send(`/api/v1/tenants/${home.tenant.id}`, {
        method: "PATCH",
        headers: { ...bearer(home.admin.token), "content-type": "application/json" },
        body: `{"settings":{"k":${"[".repeat(depth)}${"]".repeat(depth)}}}`,
      });
      await expectProblem(settings, 400, "validation_failed");
    });

    it("JSON that is not an object, or numbers out of range, is a 400", async () => {
      for (const body of [
        "null",
        "[]",
        '"text"',
        "1e309",
        "true",
        '{"name":"n","role":"viewer","rate_limit_per_hour":1e309}',
        '{"name":"n","role":"viewer","rate_limit_per_hour":-0.5}',
      ]) {
        await expectProblem(await post(body, "application/json"), 400, "validation_failed");
      }
    });

    it("a body that is not application/json is a 415, whatever it looks like", async () => {
      const json = JSON.stringify({ name: `ct-${run}`, role: "viewer" });
      for (const type of [
        "text/plain",
        "application/x-www-form-urlencoded",
        "application/xml",
        "text/json",
        "application/jsonx",
        "application/json-seq",
        "multipart/form-data; boundary=x",
      ]) {
        await expectProblem(await post(json, type), 415, "unsupported_media_type");
      }
      await expectProblem(await post(json), 415, "unsupported_media_type");
      const form = new FormData();
      form.set("name", "form");
      form.set("role", "admin");
      await expectProblem(await post(form), 415, "unsupported_media_type");
      for (const type of [
        "APPLICATION/JSON",
        "application/json; charset=utf-8",
        "application/merge-patch+json",
      ]) {
        const res = await post(JSON.stringify({ name: `ct-${type}-${run}`, role: "viewer" }), type);
        expect(res.status, type).toBe(201);
      }
    });

    it("invalid UTF-8 in every form is 400 malformed_json; a UTF-8 BOM is tolerated", async () => {
      const wrap = (bytes: number[]) =>
        new Uint8Array([
          ...new TextEncoder().encode('{"name":"'),
          ...bytes,
          ...new TextEncoder().encode('","role":"viewer"}'),
        ]);
      for (const bytes of [
        [0xc0, 0xaf],
        [0xed, 0xa0, 0x80],
        [0xe2, 0x82],
        [0xff],
        [0xf8, 0x88, 0x80, 0x80, 0x80],
        [0xf4, 0x90, 0x80, 0x80],
      ]) {
        await expectProblem(await post(wrap(bytes), "application/json"), 400, "malformed_json");
      }
      const utf16 = new Uint8Array([
        0xff,
        0xfe,
        ...Array.from(new TextEncoder().encode("{}")).flatMap((b) => [b, 0]),
      ]);
      await expectProblem(await post(utf16, "application/json"), 400, "malformed_json");
      const bom = new Uint8Array([
        0xef,
        0xbb,
        0xbf,
        ...new TextEncoder().encode(JSON.stringify({ name: `bom-${run}`, role: "viewer" })),
      ]);
      expect((await post(bom, "application/json")).status).toBe(201);
    });

    it("U+0000 is refused with 400 wherever it would be stored; elsewhere it is just a character", async () => {
      const nul = "a\u0000b";
      const cases: [string, RequestInit][] = [
        ["/api/v1/api-keys", jsonInit("POST", { name: nul, role: "viewer" }, bearer(home.admin.token))],
        [`/api/v1/tenants/${home.tenant.id}`, jsonInit("PATCH", { name: nul }, bearer(home.admin.token))],
        [
          `/api/v1/tenants/${home.tenant.id}`,
          jsonInit("PATCH", { settings: { [nul]: nul } }, bearer(home.admin.token)),
        ],
        [
          "/api/v1/plugins",
          jsonInit(
            "POST",
            { name: `nul-${run}`, version: "1.0.0", config: { k: nul } },
            bearer(home.admin.token),
          ),
        ],
        ["/api/v1/tenants?q=%00", { headers: sys }],
        ["/api/v1/audit-events?action=%00", { headers: bearer(home.admin.token) }],
        ["/api/v1/audit-events?actor=a%00", { headers: bearer(home.admin.token) }],
      ];
      for (const [path, init] of cases)
        await expectProblem(await attack.send(path, init), 400, "validation_failed");
      const sealed = await attack.send(
        "/api/v1/credentials",
        jsonInit("POST", { name: `nul-${run}`, kind: "token", value: nul }, bearer(home.admin.token)),
      );
      expect(sealed.status).toBe(201);
      const { id } = (await sealed.json()) as { id: string };
      const revealed = await attack.send(`/api/v1/credentials/${id}/reveal`, {
        method: "POST",
        headers: bearer(home.admin.token),
      });
      expect(((await revealed.json()) as { value: string }).value).toBe(nul);
    });
  });
});
