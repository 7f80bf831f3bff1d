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
import { receiverUrl } from "./support/webhook-receiver";

/**
 * OWASP API1 (broken object-level authorization), generated from the route table: tenant B's
 * admin — by JWT and by API key — calls every non-public route aimed at tenant A's objects,
 * without a selector, with B's own selector, with A's selector, with A's subdomain, and under
 * B's and A's `/t/{tenant}` path prefix. Every
 * request that names A (its id, slug or an object id of A anywhere) must be refused with
 * 403/404 (or 400 `tenant_conflict` when selectors disagree), no answer may carry any of A's
 * ids or names, and A's rows are exactly as they were afterwards.
 *
 * The same matrix runs against a dedicated victim D (its objects in a database of its own)
 * and with D's admin as the attacker of A: every case must hold and answer the same status as
 * between the two shared tenants. All modes for all three: the matrix takes seconds.
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
    // The run's receiver: the matrix runs three times, and the clusters a later run creates
    // are delivered to the endpoints an earlier one made.
    "POST /api/v1/webhooks": { url: receiverUrl(name), events: ["cluster.*"] },
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

/** One run of the matrix: every route, attacker credential and mode against one victim. */
interface MatrixRun {
  cases: number;
  aimed: number;
  failures: string[];
  /** The status of each case, by `METHOD path credential, mode`, to compare runs with. */
  statuses: Map<string, number>;
}

describe("isolation matrix (OWASP API1)", () => {
  const db = pools();
  let sys: Record<string, string>;
  let a: PopulatedTenant;
  let b: PopulatedTenant;
  /** A dedicated tenant: its objects live in a database of its own. */
  let d: PopulatedTenant;

  beforeAll(async () => {
    sys = await systemAdminHeaders(db.admin);
    a = await populateTenant(sys, "alpha");
    b = await populateTenant(sys, "bravo");
    d = await populateTenant(sys, "delta", { dedicated: { admin: db.admin } });
  });

  afterAll(async () => {
    await d.own?.drop();
    await db.end();
  });

  // `user` routes act on the caller's own account (switch, password, logout-all): they have
  // no tenant object to aim at, and logging out would revoke the attackers' tokens midway.
  const routes = ROUTE_TABLE.filter(
    (entry) => entry.access.kind !== "public" && entry.access.kind !== "user",
  );
  const total = routes.length * ATTACKERS.length * MODES.length;
  const size = `${routes.length} routes × ${ATTACKERS.length} attackers × ${MODES.length} modes = ${total} cases`;

  async function runMatrix(victim: PopulatedTenant, attacker: PopulatedTenant): Promise<MatrixRun> {
    const run: MatrixRun = { cases: 0, aimed: 0, failures: [], statuses: new Map() };
    for (const entry of routes) {
      for (const credential of ATTACKERS) {
        for (const mode of MODES) {
          const c = buildCase(entry, credential, mode, victim, attacker);
          run.cases += 1;
          const res = await api(c.url, { ...c.init, host: c.host });
          const text = await res.text();
          const key = `${entry.method} ${entry.path} ${credential}, ${mode}`;
          run.statuses.set(key, res.status);
          const label = `${entry.method} ${entry.path} as ${attacker.tenant.slug}'s ${credential}, ${mode}: ${res.status}`;
          const leaks = leaked(text, victim);
          if (leaks.length > 0) run.failures.push(`${label} leaks ${leaks.join(", ")}`);
          if (res.status >= 500) run.failures.push(`${label} ${text}`);
          if (!aimsAtVictim(c, victim)) continue;
          run.aimed += 1;
          const code =
            res.headers.get("content-type") === "application/problem+json" ? JSON.parse(text).code : "";
          const refused = res.status === 403 || res.status === 404 || code === "tenant_conflict";
          if (!refused) run.failures.push(`${label} was not refused: ${text.slice(0, 200)}`);
        }
      }
    }
    console.info(
      `isolation matrix, ${victim.own ? "dedicated" : "shared"} victim ${victim.tenant.slug} attacked by ` +
        `${attacker.own ? "dedicated" : "shared"} ${attacker.tenant.slug}: ${size}, ${run.aimed} aimed at the ` +
        `victim; ${run.failures.length} failures`,
    );
    return run;
  }

  /** The runs every victim and attacker are compared with: shared B attacking shared A. */
  let reference: Promise<MatrixRun> | undefined;
  const sharedRun = () => {
    reference ??= runMatrix(a, b);
    return reference;
  };

  /** The victim's rows in every database it has, and the audit records the attacker left there. */
  async function victimState(victim: PopulatedTenant, attacker: PopulatedTenant) {
    let audited = 0;
    for (const pool of [db.admin, ...(victim.own ? [victim.own.admin] : [])]) {
      const { rows } = await pool.query<{ n: number }>(
        "select count(*)::int as n from audit_events where tenant_id = $1 and actor_id = any($2)",
        [victim.tenant.id, [attacker.admin.id, attacker.adminKey.id]],
      );
      audited += rows[0]?.n ?? 0;
    }
    return { rows: await snapshot(db.admin, victim), audited };
  }

  /**
   * Runs the matrix (or takes the memoised run) and checks it: nothing leaked or answered
   * 5xx, every aimed case refused, the victim's rows as they were with no audit record of the
   * attacker, and its own admin still reads every object attacked (the matrix aims at real ones).
   */
  async function attack(
    victim: PopulatedTenant,
    attacker: PopulatedTenant,
    run: () => Promise<MatrixRun>,
  ): Promise<MatrixRun> {
    const before = await victimState(victim, attacker);
    const result = await run();
    expect(result.failures).toEqual([]);
    expect(result.cases).toBe(total);
    expect(result.aimed).toBeGreaterThan(result.cases / 2);
    expect(await victimState(victim, attacker)).toEqual({ ...before, audited: 0 });
    for (const entry of routes.filter((e) => e.method === "GET" && e.path.includes("{"))) {
      const c = buildCase(entry, "jwt", "no selector", victim, victim);
      const res = await api(c.url, c.init);
      expect(res.status, `${entry.path}: ${await res.clone().text()}`).toBe(200);
      await res.arrayBuffer();
    }
    return result;
  }

  /** Cases whose status differs from the shared run's (a dedicated tenant answers alike). */
  function differences(run: MatrixRun, shared: MatrixRun): string[] {
    return [...run.statuses].flatMap(([key, status]) =>
      shared.statuses.get(key) === status ? [] : [`${key}: ${status}, shared ${shared.statuses.get(key)}`],
    );
  }

  it(`tenant B, by JWT and API key, in every selector mode, reaches none of A's objects (${size})`, async () => {
    await attack(a, b, sharedRun);
  });

  it("the dedicated victim's objects live in its own database, not in the control one", async () => {
    for (const table of ["clusters", "plugins", "credentials", "webhook_endpoints", "webhook_deliveries"]) {
      const count = async (pool: typeof db.admin) => {
        const sql = `select count(*)::int as n from ${table} where tenant_id = $1`;
        return (await pool.query<{ n: number }>(sql, [d.tenant.id])).rows[0]?.n;
      };
      expect(await count(d.own?.admin ?? db.admin), table).toBeGreaterThan(0);
      expect(await count(db.admin), table).toBe(0);
    }
  });

  it(`shared tenant B reaches none of dedicated D's objects, answered as for a shared victim (${size})`, async () => {
    const run = await attack(d, b, () => runMatrix(d, b));
    expect(differences(run, await sharedRun())).toEqual([]);
  });

  it(`dedicated tenant D's admin reaches none of shared A's objects, answered as for a shared attacker (${size})`, async () => {
    const run = await attack(a, d, () => runMatrix(a, d));
    expect(differences(run, await sharedRun())).toEqual([]);
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

  /** Every ordered pair of the three tenants, shared and dedicated. */
  const pairs = () =>
    [a, b, d].flatMap((self) =>
      [a, b, d].filter((other) => other !== self).map((other) => [self, other] as const),
    );

  it("every list endpoint answers only the caller's own tenant's rows, shared or dedicated", async () => {
    expect(LISTS.length).toBeGreaterThanOrEqual(7);
    for (const path of LISTS) {
      for (const [self, other] of pairs()) {
        for (const headers of [bearer(self.admin.token), { "x-api-key": self.adminKey.key }]) {
          const text = JSON.stringify(await page(`${path}?limit=100`, headers));
          expect(leaked(text, other), `${path} as ${self.tenant.slug}`).toEqual([]);
        }
      }
    }
  });

  it("a pagination cursor from one tenant is useless in another: it still sees only its own rows", async () => {
    let cursors = 0;
    for (const [owner, thief] of [
      [a, b],
      [d, b],
      [a, d],
    ] as const) {
      for (const path of LISTS) {
        const first = await page(`${path}?limit=1`, bearer(owner.admin.token));
        if (!first.next_cursor) continue;
        cursors += 1;
        const cursor = encodeURIComponent(first.next_cursor);
        const label = `${path}, ${owner.tenant.slug}'s cursor in ${thief.tenant.slug}`;
        const stolen = await api(`${path}?limit=100&cursor=${cursor}`, {
          headers: bearer(thief.admin.token),
        });
        const text = await stolen.text();
        expect([200, 400], `${label}: ${text}`).toContain(stolen.status);
        expect(leaked(text, owner), label).toEqual([]);
        const aimed = await api(`${path}?limit=100&cursor=${cursor}`, {
          headers: { ...bearer(thief.admin.token), "x-tenant-id": owner.tenant.id },
        });
        expect(aimed.status, label).toBe(403);
        expect(leaked(await aimed.text(), owner), label).toEqual([]);
      }
    }
    expect(cursors).toBe(LISTS.length * 3);
  });

  it("a system admin sees a tenant, shared or dedicated, only when selecting it", async () => {
    for (const path of LISTS) {
      const none = await api(`${path}?limit=100`, { headers: sys });
      const body = await none.text();
      expect(none.status, path).toBe(400);
      expect(JSON.parse(body).code, path).toBe("tenant_required");
      expect(leaked(body, a), path).toEqual([]);
      expect(leaked(body, d), path).toEqual([]);
      for (const [self, other] of pairs()) {
        const text = JSON.stringify(
          await page(`${path}?limit=100`, { ...sys, "x-tenant-id": self.tenant.slug }),
        );
        expect(leaked(text, other), `${path} selecting ${self.tenant.slug}`).toEqual([]);
      }
    }
    // The tenant's own data shows once it is selected (members, keys, clusters…).
    for (const victim of [a, d]) {
      const members = JSON.stringify(
        await page("/api/v1/members", { ...sys, "x-tenant-id": victim.tenant.id }),
      );
      expect(members).toContain(victim.member.id);
      const clusters = JSON.stringify(
        await page("/api/v1/clusters", { ...sys, "x-tenant-id": victim.tenant.id }),
      );
      expect(clusters).toContain(victim.clusterId);
    }
  });
});
