import fc from "fast-check";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import "../src/app";
import { ROUTE_TABLE, type RouteEntry } from "../src/routes/route-table";
import { SQL_INJECTION } from "./support/attack";
import { pools } from "./support/db";
import { addMember, api, bearer, createUser, tokenFor } from "./support/fixtures";
import { fuzzPlan } from "./support/fuzz-plan";
import { type Api, exampleBody, loadApi } from "./support/openapi";
import { leaked, type PopulatedTenant, populateTenant, systemAdminHeaders } from "./support/populated-tenant";

/**
 * Random request shapes against every route of the route table: any caller, any path
 * parameter, query, selector, content type and body (valid, mutated, random JSON, random
 * bytes). Whatever arrives, the answer is never a 5xx, every error is problem+json, and a
 * caller of one tenant never sees another tenant's ids or names. Three tenants: two shared
 * (`home`, `other`) and a dedicated one (`ded`, its own rows in a database of its own), each
 * a target of the others' ids and selectors, and callers of `home` and `ded`. Fixed seed
 * under `npm test` (printed); `npm run test:fuzz` runs a longer campaign with a random one.
 */
const PLAN = fuzzPlan("test/fuzz.test.ts", { runs: 1500, campaignRuns: 10_000, msPerRun: 10 });

const printable = (max: number) => fc.string({ unit: "grapheme-ascii", maxLength: max });

describe("fuzz: random requests against every route", { timeout: PLAN.timeout }, () => {
  const db = pools();
  let doc: Api;
  let sys: Record<string, string>;
  let home: PopulatedTenant;
  let other: PopulatedTenant;
  let ded: PopulatedTenant;

  beforeAll(async () => {
    doc = await loadApi();
    sys = await systemAdminHeaders(db.admin);
    home = await populateTenant(sys, "fuzz");
    other = await populateTenant(sys, "fuzzother");
    ded = await populateTenant(sys, "fuzzded", { dedicated: { admin: db.admin } });
  });

  afterAll(async () => {
    await ded.own?.drop();
    await db.end();
  });

  function callers(): Record<string, Record<string, string>> {
    return {
      anonymous: {},
      admin: bearer(home.admin.token),
      member: bearer(home.member.token),
      key: { "x-api-key": home.adminKey.key },
      viewerKey: { authorization: `Bearer ${home.viewerKey.key}` },
      system: sys,
      garbage: { authorization: "Bearer not-a-token" },
      dedAdmin: bearer(ded.admin.token),
      dedKey: { "x-api-key": ded.adminKey.key },
    };
  }

  /** The tenant a caller belongs to (anonymous and garbage callers count as `home`'s). */
  const tenantOf = (caller: string) => (caller.startsWith("ded") ? ded : home);
  /** The tenants whose ids and names a caller must never see. */
  const strangers = (caller: string) => [home, other, ded].filter((t) => t !== tenantOf(caller));

  /** Values for a `{param}` after `/<collection>/`: real ids of every tenant, or anything at all. */
  function paramArb(collection: string): fc.Arbitrary<string> {
    const tenants = [home, other, ded];
    const real: Record<string, string[]> = {
      tenants: [...tenants.map((t) => t.tenant.id), home.tenant.slug, ded.tenant.slug, "default"],
      members: tenants.map((t) => t.member.id),
      "api-keys": tenants.map((t) => t.viewerKey.id),
      invitations: tenants.map((t) => t.invitationId),
      clusters: tenants.map((t) => t.clusterId),
      plugins: tenants.map((t) => t.pluginId),
      credentials: tenants.map((t) => t.credentialId),
      webhooks: tenants.map((t) => t.webhookId),
      deliveries: tenants.map((t) => t.deliveryId),
    };
    return fc.oneof(
      fc.constantFrom(...(real[collection] ?? ["x"])),
      fc.uuid(),
      fc.string({ maxLength: 80 }),
      fc.constantFrom(...SQL_INJECTION),
    );
  }

  function bodyArb(entry: RouteEntry): fc.Arbitrary<BodyInit | undefined> {
    const op = doc.operations.find((o) => o.method === entry.method && o.path === entry.path);
    const valid = op?.body ? exampleBody(doc, op.body) : {};
    const fields = Object.keys(op?.body?.properties ?? { name: {} });
    const mutated = fc
      .tuple(
        fc.constantFrom(...fields, "tenant_id", "__proto__", "role"),
        fc.jsonValue({ maxDepth: 3 }),
        fc.boolean(),
      )
      .map(([field, value, drop]) => {
        const body: Record<string, unknown> = { ...valid };
        if (drop) delete body[field];
        else Object.defineProperty(body, field, { value, enumerable: true });
        return JSON.stringify(body);
      });
    return fc.oneof(
      fc.constant(undefined),
      { arbitrary: fc.constant(JSON.stringify(valid)), weight: 3 },
      { arbitrary: mutated, weight: 3 },
      fc.json({ maxDepth: 4 }),
      fc.uint8Array({ maxLength: 300 }),
      fc.string({ maxLength: 200 }),
    );
  }

  /**
   * The caller's headers. Signing out everywhere (or a password change) revokes the caller's
   * tokens, which would leave the rest of the run with dead callers: those routes run as a
   * disposable user of the same kind instead, so the suite's own callers stay valid.
   */
  async function headersOf(entry: RouteEntry, caller: string): Promise<Record<string, string>> {
    const revokes = entry.path === "/api/v1/auth/logout-all" || entry.path === "/api/v1/auth/password";
    const role = ({ admin: "admin", member: "member", dedAdmin: "admin" } as const)[
      caller as "admin" | "member" | "dedAdmin"
    ];
    if (!revokes || (caller !== "system" && !role)) return { ...callers()[caller] };
    const user = await createUser(db.admin, { isSystemAdmin: caller === "system" });
    const tenant = role ? tenantOf(caller).tenant : null;
    if (tenant && role) await addMember(db.admin, tenant, user, role);
    return bearer(await tokenFor(user, tenant, { isSystemAdmin: caller === "system" }));
  }

  function requestArb() {
    return fc.constantFrom(...ROUTE_TABLE).chain((entry) => {
      const params = [...entry.path.matchAll(/\/([^/{]+)\/\{[^}]+\}/g)].map((m) => paramArb(m[1] ?? ""));
      return fc.record({
        entry: fc.constant(entry),
        params: fc.tuple(...params),
        caller: fc.constantFrom(...Object.keys(callers())),
        query: fc.dictionary(
          fc.oneof(
            fc.constantFrom("limit", "cursor", "q", "status", "plan", "tenant", "action", "actor", "since"),
            printable(8),
          ),
          fc.oneof(printable(60), fc.integer().map(String), fc.constantFrom(...SQL_INJECTION)),
          { maxKeys: 3 },
        ),
        selector: fc.option(
          fc.oneof(
            fc.constantFrom(
              home.tenant.slug,
              other.tenant.slug,
              other.tenant.id,
              ded.tenant.slug,
              ded.tenant.id,
            ),
            printable(50),
          ),
          { nil: undefined },
        ),
        // Path selection: `/t/{tenant}/api/…`, with a real tenant or garbage.
        pathTenant: fc.option(
          fc.oneof(
            fc.constantFrom(home.tenant.slug, other.tenant.slug, other.tenant.id, ded.tenant.slug),
            printable(30).map(encodeURIComponent),
          ),
          { nil: undefined },
        ),
        host: fc.constantFrom(
          "localhost",
          `${home.tenant.slug}.localhost`,
          `${other.tenant.slug}.localhost`,
          `${ded.tenant.slug}.localhost`,
          "evil.com",
        ),
        contentType: fc.oneof(
          { arbitrary: fc.constant("application/json"), weight: 6 },
          fc.constantFrom("text/plain", "application/merge-patch+json", undefined),
        ),
        body: bodyArb(entry),
      });
    });
  }

  it(`never answers 5xx or a non-problem error, and never leaks across tenants (${PLAN.title})`, async () => {
    const statuses = new Map<number, number>();
    let runs = 0;
    /** Successful answers to the dedicated tenant's callers: its own database was reached. */
    let dedicatedOk = 0;
    await PLAN.assert(
      fc.asyncProperty(requestArb(), async (r) => {
        runs += 1;
        let i = 0;
        const routePath = r.entry.path.replace(/\{[^}]+\}/g, () => encodeURIComponent(r.params[i++] ?? ""));
        const path = r.pathTenant === undefined ? routePath : `/t/${r.pathTenant}${routePath}`;
        const query = new URLSearchParams(r.query).toString();
        const headers = await headersOf(r.entry, r.caller);
        if (r.selector !== undefined) headers["x-tenant-id"] = r.selector;
        if (r.contentType) headers["content-type"] = r.contentType;
        const withBody = r.body !== undefined && !["GET", "HEAD"].includes(r.entry.method);
        const res = await api(query ? `${path}?${query}` : path, {
          method: r.entry.method,
          host: r.host,
          headers,
          body: withBody ? r.body : undefined,
        });
        const text = new TextDecoder().decode(await res.arrayBuffer());
        statuses.set(res.status, (statuses.get(res.status) ?? 0) + 1);
        if (tenantOf(r.caller) === ded && res.status < 300) dedicatedOk += 1;
        const label = `${r.entry.method} ${path}?${query} as ${r.caller}: ${res.status} ${text.slice(0, 300)}`;
        expect(res.status, label).toBeLessThan(500);
        expect(res.headers.get("x-request-id"), label).toBeTruthy();
        if (res.status >= 400) {
          expect(res.headers.get("content-type"), label).toBe("application/problem+json");
          const problem = JSON.parse(text) as { code?: unknown; status?: unknown };
          expect(typeof problem.code, label).toBe("string");
          expect(problem.status, label).toBe(res.status);
        }
        if (r.caller !== "system") {
          for (const stranger of strangers(r.caller)) expect(leaked(text, stranger), label).toEqual([]);
        }
      }),
    );
    const summary = [...statuses.entries()].sort(([a], [b]) => a - b).map(([s, n]) => `${s}×${n}`);
    console.info(
      `fuzz (seed ${PLAN.seed}): ${runs} random requests over ${ROUTE_TABLE.length} routes; statuses ${summary.join(" ")}; ` +
        `${dedicatedOk} successful answers to the dedicated tenant's callers`,
    );
    if (PLAN.path) return;
    expect(runs).toBeGreaterThanOrEqual(PLAN.numRuns);
    expect([...statuses.keys()].some((s) => s < 300)).toBe(true);
    expect(dedicatedOk).toBeGreaterThan(0);
  });
});
