import { afterAll, beforeAll, describe, expect, it } from "vitest";
import "../src/app";
import { ROUTE_TABLE, type RouteEntry } from "../src/routes/route-table";
import { pools, uniqueSlug } from "./support/db";
import { api, bearer } from "./support/fixtures";
import {
  leaked,
  objectIds,
  type PopulatedTenant,
  populateTenant,
  snapshot,
  systemAdminHeaders,
} from "./support/populated-tenant";

/**
 * OWASP API1 (broken object-level authorization), generated from the route table: tenant B's
 * admin — by JWT and by API key — calls every non-public route aimed at tenant A's objects,
 * without a selector, with B's own selector, with A's selector, with A's subdomain, and under
 * B's and A's `/t/{tenant}` path prefix. Every
 * request that names A (its id, slug or an object id of A anywhere) must be refused with
 * 403/404 (or 400 `tenant_conflict` when selectors disagree), no answer may carry any of A's
 * ids or names, and A's rows are exactly as they were afterwards.
 */
const MODES = [
  "no selector",
  "own selector",
  "victim selector",
  "victim subdomain",
  "own path",
  "victim path",
] as const;
type Mode = (typeof MODES)[number];
const ATTACKERS = ["jwt", "api_key"] as const;
type Attacker = (typeof ATTACKERS)[number];

interface Case {
  entry: RouteEntry;
  attacker: Attacker;
  mode: Mode;
  url: string;
  host?: string;
  init: RequestInit & { headers: Record<string, string> };
}

/** Which of the victim's objects a `{param}` after `/<collection>/` names. */
function victimObject(victim: PopulatedTenant, collection: string): string {
  const id = objectIds(victim)[collection];
  if (!id) throw new Error(`isolation matrix: no victim object for /${collection}/{…}; add one`);
  return id;
}

/** A valid body per route, so a refusal is the tenancy check's and not the validator's. */
function bodyFor(entry: RouteEntry, victim: PopulatedTenant): unknown {
  const name = `intruder-${Math.random().toString(36).slice(2, 10)}`;
  const bodies: Record<string, unknown> = {
    "POST /api/v1/auth/switch": { tenant: victim.tenant.slug },
    "POST /api/v1/tenants": { name, slug: uniqueSlug("intruder"), admin_email: `${name}@example.test` },
    "PATCH /api/v1/tenants/{id}": { name },
    "POST /api/v1/tenants/{id}/suspend": { reason: name },
    "PATCH /api/v1/members/{userId}": { role: "viewer" },
    "POST /api/v1/api-keys": { name, role: "viewer" },
    "POST /api/v1/api-keys/{id}/rotate": { grace_period_seconds: 0 },
    "POST /api/v1/invitations": { email: `${name}@example.test`, role: "viewer" },
    "POST /api/v1/clusters": { name, api_server_url: "https://k8s.example.com", region: "eu" },
    "PATCH /api/v1/clusters/{id}": { name },
    "POST /api/v1/plugins": { name, version: "1.0.0" },
    "PATCH /api/v1/plugins/{id}": { name },
    "POST /api/v1/credentials": { name, kind: "token", value: "intruder-value" },
    "POST /api/v1/webhooks": { url: `https://hooks.example.com/${name}`, events: ["cluster.*"] },
    "PATCH /api/v1/webhooks/{id}": { description: name },
  };
  return bodies[`${entry.method} ${entry.path}`];
}

function buildCase(
  entry: RouteEntry,
  attacker: Attacker,
  mode: Mode,
  victim: PopulatedTenant,
  own: PopulatedTenant,
): Case {
  const path = entry.path.replace(/\/([^/{]+)\/\{[^}]+\}/g, (_, collection: string) => {
    return `/${collection}/${victimObject(victim, collection)}`;
  });
  const query = new URLSearchParams();
  const names = mode === "victim selector" || mode === "victim subdomain" || mode === "victim path";
  if (names && entry.access.kind === "tenant" && entry.access.tenantQuery) {
    query.set(entry.access.tenantQuery, victim.tenant.id);
  }
  const headers: Record<string, string> =
    attacker === "jwt" ? bearer(own.admin.token) : { "x-api-key": own.adminKey.key };
  if (mode === "own selector") headers["x-tenant-id"] = own.tenant.slug;
  if (mode === "victim selector") headers["x-tenant-id"] = victim.tenant.id;
  const init: Case["init"] = { method: entry.method, headers };
  const body = bodyFor(entry, victim);
  if (body !== undefined) {
    headers["content-type"] = "application/json";
    init.body = JSON.stringify(body);
  }
  const prefix =
    mode === "own path" ? `/t/${own.tenant.slug}` : mode === "victim path" ? `/t/${victim.tenant.slug}` : "";
  return {
    entry,
    attacker,
    mode,
    url: `${prefix}${path}${query.size > 0 ? `?${query}` : ""}`,
    host: mode === "victim subdomain" ? `${victim.tenant.slug}.localhost` : undefined,
    init,
  };
}

/**
 * A request that names the victim anywhere it selects something is aimed at it: the URL and
 * body always, the host and headers only on tenant routes (`/me` and `/auth/switch` answer
 * from the credential and ignore selectors), and every system route.
 */
function aimsAtVictim(c: Case, victim: PopulatedTenant): boolean {
  if (c.entry.access.kind === "system") return true;
  const selects = c.entry.access.kind === "tenant" ? [c.host ?? "", c.init.headers] : [];
  const request = JSON.stringify([c.url, c.init.body ?? "", ...selects]);
  return leaked(request, { markers: [victim.tenant.id, victim.tenant.slug] }).length > 0;
}

describe("isolation matrix (OWASP API1)", () => {
  const db = pools();
  let sys: Record<string, string>;
  let a: PopulatedTenant;
  let b: PopulatedTenant;

  beforeAll(async () => {
    sys = await systemAdminHeaders(db.admin);
    a = await populateTenant(sys, "alpha");
    b = await populateTenant(sys, "bravo");
  });

  afterAll(() => db.end());

  // `user` routes act on the caller's own account (switch, password, logout-all): they have
  // no tenant object to aim at, and logging out would revoke the attackers' tokens midway.
  const routes = ROUTE_TABLE.filter(
    (entry) => entry.access.kind !== "public" && entry.access.kind !== "user",
  );
  const size = `${routes.length} routes × ${ATTACKERS.length} attackers × ${MODES.length} modes = ${routes.length * ATTACKERS.length * MODES.length} cases`;

  it(`tenant B, by JWT and API key, in every selector mode, reaches none of A's objects (${size})`, async () => {
    const before = await snapshot(db.admin, a.tenant.id);
    const failures: string[] = [];
    let cases = 0;
    let aimed = 0;
    for (const entry of routes) {
      for (const attacker of ATTACKERS) {
        for (const mode of MODES) {
          const c = buildCase(entry, attacker, mode, a, b);
          cases += 1;
          const res = await api(c.url, { ...c.init, host: c.host });
          const text = await res.text();
          const label = `${entry.method} ${entry.path} as B's ${attacker}, ${mode}: ${res.status}`;
          const leaks = leaked(text, a);
          if (leaks.length > 0) failures.push(`${label} leaks ${leaks.join(", ")}`);
          if (res.status >= 500) failures.push(`${label} ${text}`);
          if (!aimsAtVictim(c, a)) continue;
          aimed += 1;
          const code =
            res.headers.get("content-type") === "application/problem+json" ? JSON.parse(text).code : "";
          const refused = res.status === 403 || res.status === 404 || code === "tenant_conflict";
          if (!refused) failures.push(`${label} was not refused: ${text.slice(0, 200)}`);
        }
      }
    }
    console.info(
      `isolation matrix: ${routes.length} routes × ${ATTACKERS.length} attackers × ${MODES.length} modes = ` +
        `${cases} cases, ${aimed} aimed at tenant A, all refused; ${failures.length} failures`,
    );
    expect(failures).toEqual([]);
    expect(cases).toBe(routes.length * ATTACKERS.length * MODES.length);
    expect(aimed).toBeGreaterThan(cases / 2);
    expect(await snapshot(db.admin, a.tenant.id)).toEqual(before);
    const { rows } = await db.admin.query<{ n: number }>(
      "select count(*)::int as n from audit_events where tenant_id = $1 and actor_id = any($2)",
      [a.tenant.id, [b.admin.id, b.adminKey.id]],
    );
    expect(rows[0]?.n).toBe(0);

    // Control: the same item reads by A's own admin succeed, so the matrix aims at real objects.
    for (const entry of routes.filter((e) => e.method === "GET" && e.path.includes("{"))) {
      const c = buildCase(entry, "jwt", "no selector", a, a);
      const res = await api(c.url, c.init);
      expect(res.status, `${entry.path}: ${await res.clone().text()}`).toBe(200);
      await res.arrayBuffer();
    }
  });

  /** The tenant-scoped collections: lists whose tenant comes from the credential or a selector. */
  const LISTS = ROUTE_TABLE.filter(
    (e) => e.method === "GET" && e.access.kind === "tenant" && !e.path.includes("{"),
  ).map((e) => e.path);

  async function page(path: string, headers: Record<string, string>) {
    const res = await api(path, { headers });
    expect(res.status, `${path}: ${await res.clone().text()}`).toBe(200);
    return (await res.json()) as { data: Record<string, unknown>[]; next_cursor: string | null };
  }

  it("every list endpoint answers only the caller's own tenant's rows", async () => {
    expect(LISTS.length).toBeGreaterThanOrEqual(7);
    for (const path of LISTS) {
      for (const [self, other] of [
        [a, b],
        [b, a],
      ] as const) {
        for (const headers of [bearer(self.admin.token), { "x-api-key": self.adminKey.key }]) {
          const text = JSON.stringify(await page(`${path}?limit=100`, headers));
          expect(leaked(text, other), `${path} as ${self.tenant.slug}`).toEqual([]);
        }
      }
    }
  });

  it("a pagination cursor from A is useless in B: B still sees only B's rows", async () => {
    let cursors = 0;
    for (const path of LISTS) {
      const first = await page(`${path}?limit=1`, bearer(a.admin.token));
      if (!first.next_cursor) continue;
      cursors += 1;
      const cursor = encodeURIComponent(first.next_cursor);
      const inB = await api(`${path}?limit=100&cursor=${cursor}`, { headers: bearer(b.admin.token) });
      const text = await inB.text();
      expect([200, 400], `${path}: ${text}`).toContain(inB.status);
      expect(leaked(text, a), path).toEqual([]);
      const aimed = await api(`${path}?limit=100&cursor=${cursor}`, {
        headers: { ...bearer(b.admin.token), "x-tenant-id": a.tenant.id },
      });
      expect(aimed.status, path).toBe(403);
      expect(leaked(await aimed.text(), a), path).toEqual([]);
    }
    expect(cursors).toBe(LISTS.length);
  });

  it("a system admin sees A only when selecting A", async () => {
    for (const path of LISTS) {
      const none = await api(`${path}?limit=100`, { headers: sys });
      const body = await none.text();
      expect(none.status, path).toBe(400);
      expect(JSON.parse(body).code, path).toBe("tenant_required");
      expect(leaked(body, a), path).toEqual([]);
      const inB = JSON.stringify(await page(`${path}?limit=100`, { ...sys, "x-tenant-id": b.tenant.slug }));
      expect(leaked(inB, a), path).toEqual([]);
      const inA = JSON.stringify(await page(`${path}?limit=100`, { ...sys, "x-tenant-id": a.tenant.slug }));
      expect(leaked(inA, b), path).toEqual([]);
    }
    // The tenant's own data shows once A is selected (members, keys, clusters…).
    const members = JSON.stringify(await page("/api/v1/members", { ...sys, "x-tenant-id": a.tenant.id }));
    expect(members).toContain(a.member.id);
  });
});
