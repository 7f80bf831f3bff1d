import { randomBytes } from "node:crypto";
import pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startWorkerStack, type WorkerStack } from "./support/worker-stack";

/**
 * A bounded load test on loopback: N tenants hammer the Worker over HTTP (Miniflare, real
 * Postgres and Redis behind the Neon and Upstash stand-ins) for a fixed time, each with C
 * concurrent clients mixing reads and creates, each tenant with a small hourly budget so
 * every tenant runs into its rate limit. Afterwards the database is the witness: every 201
 * exists exactly once, no 429 wrote anything, each tenant was admitted its budget (within the
 * sliding window's tolerance), and nothing answered 5xx.
 *
 * `npm test` runs a short version (15 s, 6 tenants); `npm run test:load` a longer one (120 s,
 * 12 tenants). LOAD_SECONDS, LOAD_TENANTS, LOAD_CLIENTS and LOAD_BUDGET set the size.
 */
const SECONDS = Number(process.env.LOAD_SECONDS ?? 15);
const TENANTS = Number(process.env.LOAD_TENANTS ?? 6);
const CLIENTS = Number(process.env.LOAD_CLIENTS ?? 4);
const BUDGET = Number(process.env.LOAD_BUDGET ?? 40);
const WINDOW_S = 3600;
const ADMIN = { email: "admin@load.test", password: "load-admin-password" };

/** Budgets differ per tenant (1×, 2×, 3×), so each is seen to hold its own. */
const budgetOf = (tenant: number) => BUDGET * (1 + (tenant % 3));

interface Outcome {
  tenant: number;
  kind: "read" | "cluster" | "key";
  status: number;
  code?: string;
  name?: string;
  id?: string;
}

interface LoadTenant {
  id: string;
  slug: string;
  key: string;
}

describe("load: tenants hammering at once", () => {
  let stack: WorkerStack;
  let tenants: LoadTenant[] = [];
  const outcomes: Outcome[] = [];
  let elapsedMs = 0;
  let report = "";

  beforeAll(async () => {
    stack = await startWorkerStack({
      name: "load",
      adminEmail: ADMIN.email,
      adminPassword: ADMIN.password,
      provisioner: true,
    });
    const url = stack.worker.url;
    expect(new URL(url).hostname).toBe("127.0.0.1");
    const login = await fetch(`${url}/api/v1/auth/login`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify(ADMIN),
    });
    const { access_token } = (await login.json()) as { access_token: string };
    tenants = await Promise.all(
      Array.from({ length: TENANTS }, async (_, i) => {
        const slug = `load-${i}-${randomBytes(3).toString("hex")}`;
        const res = await fetch(`${url}/api/v1/tenants`, {
          method: "POST",
          headers: { authorization: `Bearer ${access_token}`, "content-type": "application/json" },
          body: JSON.stringify({
            name: slug,
            slug,
            plan: "enterprise",
            admin_email: `${slug}@load.test`,
            quota_overrides: { api_calls_per_hour: budgetOf(i) },
          }),
        });
        expect(res.status).toBe(201);
        const created = (await res.json()) as { tenant: { id: string }; api_key: { key: string } };
        return { id: created.tenant.id, slug, key: created.api_key.key };
      }),
    );
  }, 180_000);

  afterAll(async () => {
    if (report) process.stdout.write(`${report}\n`);
    await stack?.stop();
  }, 60_000);

  async function client(t: number, c: number, deadline: number): Promise<void> {
    const tenant = tenants[t] as LoadTenant;
    const base = stack.worker.url;
    let n = 0;
    while (Date.now() < deadline) {
      n += 1;
      const roll = n % 10;
      const name = `t${t}-c${c}-${n}`;
      const kind: Outcome["kind"] = roll < 6 ? "read" : roll < 9 ? "cluster" : "key";
      const headers = { "x-api-key": tenant.key, "content-type": "application/json" };
      const res =
        kind === "read"
          ? await fetch(`${base}/api/v1/members`, { headers })
          : await fetch(`${base}/api/v1/${kind === "cluster" ? "clusters" : "api-keys"}`, {
              method: "POST",
              headers,
              body: JSON.stringify(
                kind === "cluster"
                  ? { name, api_server_url: "https://k8s.example.com", region: "eu" }
                  : { name, role: "viewer" },
              ),
            });
      const body = (await res.json().catch(() => ({}))) as { id?: string; code?: string };
      outcomes.push({ tenant: t, kind, status: res.status, code: body.code, name, id: body.id });
    }
  }

  it(
    `${TENANTS} tenants × ${CLIENTS} clients for ${SECONDS} s: nothing lost, nothing extra, limits held, no 5xx`,
    async () => {
      const started = Date.now();
      const deadline = started + SECONDS * 1000;
      await Promise.all(
        tenants.flatMap((_, t) => Array.from({ length: CLIENTS }, (_, c) => client(t, c, deadline))),
      );
      elapsedMs = Date.now() - started;

      const db = new pg.Client({ connectionString: stack.backends.adminDatabaseUrl });
      await db.connect();
      const lines: string[] = [];
      const failures: string[] = [];
      let lostTotal = 0;
      let refusedButWrittenTotal = 0;
      try {
        for (const [t, tenant] of tenants.entries()) {
          const mine = outcomes.filter((o) => o.tenant === t);
          const limited = mine.filter((o) => o.status === 429 && o.code === "rate_limited");
          const admitted = mine.length - limited.length;
          // Sliding window: the budget, plus what the previous fixed window's share gives back
          // while the test runs (only if it straddles a window boundary).
          const budget = budgetOf(t);
          const ceiling = budget + Math.ceil((budget * elapsedMs) / 1000 / WINDOW_S) + 1;
          if (admitted > ceiling)
            failures.push(`${tenant.slug}: admitted ${admitted} over a budget of ${budget}`);
          // Refused before its budget was spent? (A tenant that never reached it has no 429.)
          if (limited.length > 0 && admitted < budget - 1)
            failures.push(`${tenant.slug}: refused after ${admitted} of a budget of ${budget}`);
          for (const [kind, table] of [
            ["cluster", "clusters"],
            ["key", "api_keys"],
          ] as const) {
            const sent = mine.filter((o) => o.kind === kind);
            const created = sent.filter((o) => o.status === 201);
            const { rows } = await db.query<{ id: string; name: string }>(
              `select id::text, name from ${table} where tenant_id = $1 and name like 't%-c%-%'`,
              [tenant.id],
            );
            const stored = new Map(rows.map((r) => [r.name, r.id]));
            const lost = created.filter((o) => stored.get(o.name ?? "") !== o.id);
            const refusedButWritten = sent.filter((o) => o.status !== 201 && stored.has(o.name ?? ""));
            lostTotal += lost.length;
            refusedButWrittenTotal += refusedButWritten.length;
            if (rows.length !== created.length)
              failures.push(`${tenant.slug} ${table}: ${rows.length} rows for ${created.length} × 201`);
            if (lost.length)
              failures.push(`${tenant.slug} ${table}: ${lost.length} created but not stored once`);
            if (refusedButWritten.length)
              failures.push(`${tenant.slug} ${table}: ${refusedButWritten.length} refused but written`);
          }
          lines.push(
            `  ${tenant.slug}: ${mine.length} requests, ${admitted} admitted (budget ${budgetOf(t)}), ${limited.length} × 429`,
          );
        }
      } finally {
        await db.end();
      }

      const byStatus = new Map<number, number>();
      for (const o of outcomes) byStatus.set(o.status, (byStatus.get(o.status) ?? 0) + 1);
      const fiveHundreds = outcomes.filter((o) => o.status >= 500).length;
      const created = outcomes.filter((o) => o.status === 201).length;
      report = [
        `load: ${outcomes.length} requests in ${(elapsedMs / 1000).toFixed(1)} s (${Math.round(outcomes.length / (elapsedMs / 1000))}/s) ` +
          `from ${TENANTS} tenants × ${CLIENTS} clients; statuses ${[...byStatus.entries()]
            .sort(([a], [b]) => a - b)
            .map(([s, n]) => `${s}×${n}`)
            .join(" ")}; ` +
          `${created} creates, ${lostTotal} lost, ${refusedButWrittenTotal} written by a refusal, ${fiveHundreds} × 5xx, ${failures.length} failures`,
        ...lines,
      ].join("\n");

      expect(failures).toEqual([]);
      expect(fiveHundreds).toBe(0);
      expect(new Set(outcomes.map((o) => o.status))).toEqual(new Set([200, 201, 429]));
    },
    60_000 + SECONDS * 1000,
  );
});
