import { afterAll, afterEach, describe, expect, it, vi } from "vitest";
import { MAX_ATTEMPTS, PURGE_CRON, RECONCILE_CRON } from "../src/jobs/policy";
import { pools } from "./support/db";
import {
  addMember,
  api,
  bearer,
  createTenant,
  createUser,
  type TestTenant,
  tokenFor,
} from "./support/fixtures";
import {
  capturingQueue,
  deliver,
  dryRunProvisionerUrl,
  eventually,
  insertJob,
  jobRow,
  kube,
  runCron,
} from "./support/provisioner";

const ns = (tenant: { slug: string }) => `tenant-${tenant.slug}`;

describe("scheduled work", () => {
  const db = pools();
  const created: string[] = [];

  /** Tenants of this file are removed after each test, so no run sees another test's leftovers. */
  async function tenant(opts: Parameters<typeof createTenant>[1] = {}): Promise<TestTenant> {
    const t = await createTenant(db.admin, opts);
    created.push(t.id);
    return t;
  }

  afterEach(async () => {
    await db.admin.query("delete from tenants where id = any($1::uuid[])", [created.splice(0)]);
  });

  afterAll(() => db.end());

  async function deleteTenant(t: TestTenant, deletedAt: string) {
    await db.admin.query("update tenants set status = 'deleted', deleted_at = $2 where id = $1", [
      t.id,
      deletedAt,
    ]);
  }
  const daysAgo = (days: number) => new Date(Date.now() - days * 86_400_000).toISOString();

  const jobsOf = async (tenantId: string, kind: string) =>
    (
      await db.admin.query<{ id: string; status: string }>(
        "select id, status from provisioning_jobs where tenant_id = $1 and kind = $2 order by created_at",
        [tenantId, kind],
      )
    ).rows;

  const tenantExists = async (id: string) =>
    (await db.admin.query("select 1 from tenants where id = $1", [id])).rowCount === 1;

  describe("purge (0 3 * * *)", () => {
    /** One row in every tenant table, so "gone from every table" proves something. */
    async function populate(t: TestTenant) {
      const user = await createUser(db.admin);
      await addMember(db.admin, t, user, "admin");
      const q = (text: string, values: unknown[]) => db.admin.query(text, values);
      const unique = crypto.randomUUID().slice(0, 8);
      await q(
        "insert into invitations (tenant_id, email, role, token_hash, expires_at) values ($1, $2, 'member', $3, now() + interval '1 day')",
        [t.id, `${unique}@example.test`, `hash-${unique}`],
      );
      await q(
        "insert into api_keys (tenant_id, name, role, prefix, key_hash) values ($1, 'k', 'admin', $2, $3)",
        [t.id, `p${unique}`, `h${unique}`],
      );
      await q(
        "insert into clusters (tenant_id, name, api_server_url, region) values ($1, 'c', 'https://k8s.example.com', 'eu')",
        [t.id],
      );
      await q("insert into plugins (tenant_id, name, version) values ($1, 'p', '1.0.0')", [t.id]);
      await q(
        "insert into credentials (tenant_id, name, kind, ciphertext, iv) values ($1, 'c', 'token', 'x', 'y')",
        [t.id],
      );
      await q(
        "insert into tenant_keys (tenant_id, wrapped_key, wrap_iv, master_key_id) values ($1, 'w', 'i', 'm1')",
        [t.id],
      );
      await q(
        "insert into audit_events (tenant_id, actor_type, action) values ($1, 'system', 'tenant.deleted')",
        [t.id],
      );
      await q(
        "insert into idempotency_keys (tenant_id, key, route, request_hash, expires_at) values ($1, 'k', 'POST /x', 'h', now() + interval '1 day')",
        [t.id],
      );
      await q(
        "insert into notifications (id, tenant_id, channel, recipient, template) values (gen_random_uuid(), $1, 'email', $2, 'invitation')",
        [t.id, `${unique}@example.test`],
      );
      await q(
        "insert into usage_daily (tenant_id, day, api_calls_2xx) values ($1, (now() at time zone 'utc')::date, 1)",
        [t.id],
      );
      const endpoint = crypto.randomUUID();
      await q(
        "insert into webhook_endpoints (id, tenant_id, url, events, secret_ciphertext, secret_iv) values ($1, $2, 'https://hooks.example.com/x', '{tenant.*}', 'c', 'i')",
        [endpoint, t.id],
      );
      await q(
        "insert into webhook_deliveries (id, tenant_id, endpoint_id, event_id, event_type, payload) values (gen_random_uuid(), $1, $2, gen_random_uuid(), 'tenant.updated', '{}')",
        [t.id, endpoint],
      );
      await q("insert into webhook_relay (tenant_id, event_type, data) values ($1, 'tenant.updated', '{}')", [
        t.id,
      ]);
      await q("insert into webhook_relayed (id, tenant_id) values (gen_random_uuid(), $1)", [t.id]);
      // A database it was once moved to, retired and waiting to be dropped: purge drops it.
      const database = `tenantry_t_${t.id.replaceAll("-", "")}`;
      await db.admin.query(`create database "${database}"`);
      await q(
        "insert into tenant_databases (tenant_id, provider, ref, region, connection_sealed, status) values ($1, 'local', $2, 'eu-central', 'v1.x.y', 'retired')",
        [t.id, database],
      );
      await q(
        "insert into tenant_moves (tenant_id, from_isolation, to_isolation, to_region, copy_after, status) values ($1, 'dedicated', 'shared', 'us-east', now(), 'succeeded')",
        [t.id],
      );
    }

    const databaseExists = async (name: string) =>
      (await db.admin.query("select 1 from pg_database where datname = $1", [name])).rows.length > 0;

    /** Rows per table that has a tenant_id column, found from the catalog so a new table is covered too. */
    async function rowsPerTable(tenantId: string): Promise<Record<string, number>> {
      const { rows: tables } = await db.admin.query<{ table_name: string }>(
        "select table_name from information_schema.columns where table_schema = 'public' and column_name = 'tenant_id' order by table_name",
      );
      const counts: Record<string, number> = {};
      for (const { table_name } of tables) {
        const { rows } = await db.admin.query<{ n: number }>(
          `select count(*)::int as n from "${table_name}" where tenant_id = $1`,
          [tenantId],
        );
        counts[table_name] = rows[0]?.n ?? -1;
      }
      return counts;
    }

    it("purges a tenant deleted 31 days ago end to end", async () => {
      const t = await tenant();
      await populate(t);
      // Give it a namespace first, as its provision job would have.
      expect(await deliver((await insertJob(db.admin, t.id, "provision")).id)).toMatchObject({ acked: true });
      expect((await kube.objects(ns(t))).some((o) => o.kind === "Namespace")).toBe(true);
      await deleteTenant(t, daysAgo(31));
      const before = await rowsPerTable(t.id);
      expect(Object.keys(before).length).toBeGreaterThanOrEqual(10);
      for (const [table, n] of Object.entries(before)) expect(n, table).toBeGreaterThan(0);

      // The run enqueues the deprovision job and sends it through the real queue.
      await runCron(PURGE_CRON);
      const [job] = await jobsOf(t.id, "deprovision");
      expect(job).toBeDefined();
      // First delivery: Kubernetes is deleting the namespace; not done yet, retried later.
      await eventually(async () => {
        const row = await jobRow(db.admin, job?.id as string);
        return row?.result?.status === "terminating" ? row : undefined;
      });
      expect(await tenantExists(t.id)).toBe(true);
      await kube.finishTermination(ns(t));

      // The retry finds the namespace gone, and the tenant is purged in the same transaction.
      await eventually(async () => ((await tenantExists(t.id)) ? undefined : true));
      const after = await rowsPerTable(t.id);
      for (const [table, n] of Object.entries(after)) expect(n, table).toBe(0);
      expect(await kube.objects(ns(t))).toEqual([]);
      expect((await kube.requests(ns(t))).filter((r) => r.method === "DELETE")).toHaveLength(1);
      const database = `tenantry_t_${t.id.replaceAll("-", "")}`;
      expect(await databaseExists(database)).toBe(false);

      const { rows: audit } = await db.admin.query(
        "select tenant_id, actor_type, action, target_type, target_id, meta from audit_events where action = 'tenant.purged' and target_id = $1",
        [t.id],
      );
      expect(audit).toEqual([
        {
          tenant_id: null,
          actor_type: "system",
          action: "tenant.purged",
          target_type: "tenant",
          target_id: t.id,
          meta: expect.objectContaining({
            tenant_id: t.id,
            slug: t.slug,
            namespace: ns(t),
            deprovision_job_id: job?.id,
            provisioner_status: "gone",
            databases_dropped: [database],
          }),
        },
      ]);

      // The slug is free again.
      const again = await tenant({ slug: t.slug });
      expect(again.id).not.toBe(t.id);
    });

    it("a dry-run deprovision keeps the tenant and says so; the next run purges for real", async () => {
      const t = await tenant();
      await populate(t);
      await deleteTenant(t, daysAgo(31));
      const { sent, queue } = capturingQueue();
      await runCron(PURGE_CRON, { PROVISION_QUEUE: queue });
      const [job] = await jobsOf(t.id, "deprovision");
      const before = await rowsPerTable(t.id);
      expect(sent).toContain(job?.id);

      const dryRun = { env: { PROVISIONER_URL: await dryRunProvisionerUrl() } };
      expect(await deliver(job?.id as string, dryRun)).toMatchObject({ acked: true, retried: false });
      const row = await jobRow(db.admin, job?.id as string);
      expect(row).toMatchObject({ status: "dry_run", result: { status: "dry_run", namespace: ns(t) } });
      expect(row?.result?.note).toMatch(/dry-run mode, so no namespace was deleted; the tenant is kept/);
      expect(await tenantExists(t.id)).toBe(true);
      expect(await rowsPerTable(t.id)).toEqual(before);
      const purged = await db.admin.query(
        "select 1 from audit_events where action = 'tenant.purged' and target_id = $1",
        [t.id],
      );
      expect(purged.rows).toEqual([]);

      // A dry-run job is no deprovision under way: the next run tries again, and a live
      // provisioner (the strict fake API behind it) really deletes the namespace.
      await runCron(PURGE_CRON, { PROVISION_QUEUE: queue });
      const jobs = await jobsOf(t.id, "deprovision");
      expect(jobs).toEqual([
        { id: job?.id, status: "dry_run" },
        { id: expect.any(String), status: "pending" },
      ]);
      const again = jobs[1]?.id as string;
      expect(await deliver(again)).toMatchObject({ acked: true });
      expect(await tenantExists(t.id)).toBe(false);
    });

    it("leaves a tenant deleted 29 days ago alone", async () => {
      const t = await tenant();
      await deleteTenant(t, daysAgo(29));
      const { sent, queue } = capturingQueue();
      await runCron(PURGE_CRON, { PROVISION_QUEUE: queue });
      expect(await jobsOf(t.id, "deprovision")).toEqual([]);
      expect(await tenantExists(t.id)).toBe(true);
      const due = await tenant();
      await deleteTenant(due, daysAgo(31));
      await runCron(PURGE_CRON, { PROVISION_QUEUE: queue });
      // The same run logic does pick up a tenant one step further: the cut-off is what differs.
      expect(sent).toContain((await jobsOf(due.id, "deprovision"))[0]?.id);
      expect(await jobsOf(t.id, "deprovision")).toEqual([]);
    });

    it("leaves a restored tenant alone", async () => {
      const t = await tenant();
      await deleteTenant(t, daysAgo(31));
      // Restored: active again, no deletion date (what POST /tenants/{id}/restore leaves).
      await db.admin.query("update tenants set status = 'active', deleted_at = null where id = $1", [t.id]);
      const { queue } = capturingQueue();
      await runCron(PURGE_CRON, { PROVISION_QUEUE: queue });
      expect(await jobsOf(t.id, "deprovision")).toEqual([]);
      expect(await tenantExists(t.id)).toBe(true);
    });

    it("overlapping runs enqueue one deprovision job per tenant, and each tenant is purged once", async () => {
      const due = [await tenant(), await tenant(), await tenant()];
      for (const [i, t] of due.entries()) await deleteTenant(t, `2000-01-0${i + 1}T00:00:00Z`);
      const a = capturingQueue();
      const b = capturingQueue();
      await Promise.all([
        runCron(PURGE_CRON, { PROVISION_QUEUE: a.queue }),
        runCron(PURGE_CRON, { PROVISION_QUEUE: b.queue }),
        runCron(PURGE_CRON, { PROVISION_QUEUE: a.queue }),
      ]);
      const jobIds: string[] = [];
      for (const t of due) {
        const jobs = await jobsOf(t.id, "deprovision");
        expect(jobs).toHaveLength(1);
        jobIds.push(jobs[0]?.id as string);
      }
      const sent = [...a.sent, ...b.sent].filter((id) => jobIds.includes(id));
      expect(sent.sort()).toEqual([...jobIds].sort());

      // Every message delivered twice at once: each tenant goes exactly once, nothing fails.
      const deliveries = await Promise.all(
        jobIds.flatMap((id) => [deliver(id), deliver(id, { attempts: 2 })]),
      );
      expect(deliveries.every((d) => d.acked)).toBe(true);
      for (const t of due) {
        expect(await tenantExists(t.id)).toBe(false);
        const { rows } = await db.admin.query(
          "select 1 from audit_events where action = 'tenant.purged' and target_id = $1",
          [t.id],
        );
        expect(rows).toHaveLength(1);
      }
    });

    it("does a bounded batch per run, oldest deletion first", async () => {
      const older = await tenant();
      const newer = await tenant();
      await deleteTenant(older, "1999-01-01T00:00:00Z");
      await deleteTenant(newer, "1999-01-02T00:00:00Z");
      const { sent, queue } = capturingQueue();
      await runCron(PURGE_CRON, { PROVISION_QUEUE: queue, PURGE_BATCH_SIZE: "1" });
      expect(await jobsOf(older.id, "deprovision")).toHaveLength(1);
      expect(await jobsOf(newer.id, "deprovision")).toEqual([]);
      expect(sent).toHaveLength(1);
      // The next run continues where this one stopped; a tenant with a job under way gets no second.
      await runCron(PURGE_CRON, { PROVISION_QUEUE: queue, PURGE_BATCH_SIZE: "1" });
      expect(await jobsOf(newer.id, "deprovision")).toHaveLength(1);
      expect(await jobsOf(older.id, "deprovision")).toHaveLength(1);
    });

    it("deletes daily usage older than the 400 days kept", async () => {
      const t = await tenant();
      await db.admin.query(
        "insert into usage_daily (tenant_id, day) values ($1, (now() at time zone 'utc')::date - 399), ($1, (now() at time zone 'utc')::date - 400)",
        [t.id],
      );
      const { queue } = capturingQueue();
      await runCron(PURGE_CRON, { PROVISION_QUEUE: queue });
      const { rows } = await db.admin.query<{ age: number }>(
        "select (now() at time zone 'utc')::date - day as age from usage_daily where tenant_id = $1",
        [t.id],
      );
      expect(rows).toEqual([{ age: 399 }]);
    });

    it("gives a tenant whose deprovision job died a new one on the next run", async () => {
      const t = await tenant();
      await deleteTenant(t, daysAgo(40));
      const dead = await insertJob(db.admin, t.id, "deprovision", { status: "dead", attempts: MAX_ATTEMPTS });
      const { queue } = capturingQueue();
      await runCron(PURGE_CRON, { PROVISION_QUEUE: queue });
      const jobs = await jobsOf(t.id, "deprovision");
      expect(jobs).toEqual([
        { id: dead.id, status: "dead" },
        { id: expect.any(String), status: "pending" },
      ]);
    });

    it("logs one summary line per task", async () => {
      const t = await tenant();
      await deleteTenant(t, daysAgo(31));
      const { queue } = capturingQueue();
      const spy = vi.spyOn(console, "log");
      try {
        await runCron(PURGE_CRON, { PROVISION_QUEUE: queue });
        const lines = spy.mock.calls
          .map(([line]) => JSON.parse(String(line)) as Record<string, unknown>)
          .filter((l) => String(l.msg).startsWith("cron"));
        expect(lines).toEqual([
          expect.objectContaining({
            level: "info",
            msg: "cron purge",
            cron: PURGE_CRON,
            deprovision_jobs: expect.any(Number),
            batch_full: false,
            duration_ms: expect.any(Number),
          }),
          expect.objectContaining({
            level: "info",
            msg: "cron api-keys-expiring",
            cron: PURGE_CRON,
            reminders: expect.any(Number),
            duration_ms: expect.any(Number),
          }),
          expect.objectContaining({
            level: "info",
            msg: "cron webhook-retention",
            cron: PURGE_CRON,
            deleted: expect.any(Number),
            batch_full: false,
            duration_ms: expect.any(Number),
          }),
          expect.objectContaining({
            level: "info",
            msg: "cron usage-retention",
            cron: PURGE_CRON,
            deleted: expect.any(Number),
            batch_full: false,
            duration_ms: expect.any(Number),
          }),
        ]);
        expect(lines[0]?.deprovision_jobs).toBeGreaterThanOrEqual(1);
      } finally {
        spy.mockRestore();
      }
    });
  });

  describe("reconcile (*/5 * * * *)", () => {
    const minutesAgo = (m: number) => new Date(Date.now() - m * 60_000).toISOString();

    it("re-sends a job whose queue message was lost, and the job then succeeds", async () => {
      const t = await tenant();
      // Committed but never sent: the outbox row the reconciler exists for.
      const job = await insertJob(db.admin, t.id, "provision", {
        created_at: minutesAgo(3),
        updated_at: minutesAgo(3),
      });
      await runCron(RECONCILE_CRON);
      const done = await eventually(async () => {
        const row = await jobRow(db.admin, job.id);
        return row?.status === "succeeded" ? row : undefined;
      });
      expect(done.attempts).toBe(1);
      expect((await kube.objects(ns(t))).some((o) => o.kind === "Namespace")).toBe(true);
    });

    it("re-sends stale jobs oldest first in bounded batches, never a fresh one, never twice", async () => {
      const t = await tenant();
      const stale: string[] = [];
      // Older than any other test's jobs (files share the database), so "oldest first"
      // picks exactly these whatever else is stale at the moment.
      for (let i = 0; i < 3; i++) {
        const at = `1800-01-01T00:00:0${i}Z`;
        stale.push((await insertJob(db.admin, t.id, "update_quota", { created_at: at, updated_at: at })).id);
      }
      const sent = await insertJob(db.admin, t.id, "resume", {
        status: "sent",
        attempts: 2,
        created_at: "2000-01-01T00:00:09Z",
        updated_at: minutesAgo(5),
      });
      const fresh = await insertJob(db.admin, t.id, "suspend", { created_at: "2000-01-01T00:00:10Z" });
      const failedRecently = await insertJob(db.admin, t.id, "update_quota", {
        status: "failed",
        attempts: 2,
        created_at: "2000-01-01T00:00:11Z",
        updated_at: minutesAgo(3),
      });

      const a = capturingQueue();
      await runCron(RECONCILE_CRON, { PROVISION_QUEUE: a.queue, RECONCILE_BATCH_SIZE: "2" });
      expect(a.sent).toEqual(stale.slice(0, 2));
      // Overlapping runs: each stale job goes to exactly one of them.
      const b = capturingQueue();
      const c = capturingQueue();
      await Promise.all([
        runCron(RECONCILE_CRON, { PROVISION_QUEUE: b.queue }),
        runCron(RECONCILE_CRON, { PROVISION_QUEUE: c.queue }),
      ]);
      const mine = [...b.sent, ...c.sent].filter((id) =>
        [...stale, sent.id, fresh.id, failedRecently.id].includes(id),
      );
      expect(mine.sort()).toEqual([stale[2], sent.id].sort());
    });

    it("re-sends a failed job whose retry never came back", async () => {
      const t = await tenant();
      const job = await insertJob(db.admin, t.id, "provision", {
        status: "failed",
        attempts: 3,
        last_error: "provisioner unreachable",
        created_at: "2000-01-01T00:00:00Z",
        updated_at: minutesAgo(10),
      });
      const { sent, queue } = capturingQueue();
      await runCron(RECONCILE_CRON, { PROVISION_QUEUE: queue });
      expect(sent).toContain(job.id);
    });

    it("marks stale jobs that used up their attempts dead", async () => {
      const t = await tenant();
      const exhausted = await insertJob(db.admin, t.id, "provision", {
        status: "sent",
        attempts: MAX_ATTEMPTS,
        created_at: "2000-01-01T00:00:00Z",
        updated_at: minutesAgo(3),
      });
      const inFlight = await insertJob(db.admin, t.id, "update_quota", {
        status: "sent",
        attempts: MAX_ATTEMPTS,
      });
      const { sent, queue } = capturingQueue();
      await runCron(RECONCILE_CRON, { PROVISION_QUEUE: queue });
      const dead = await jobRow(db.admin, exhausted.id);
      expect(dead).toMatchObject({ status: "dead", last_error: `no outcome after ${MAX_ATTEMPTS} attempts` });
      expect(dead?.completed_at).not.toBeNull();
      expect(await jobRow(db.admin, inFlight.id)).toMatchObject({ status: "sent" });
      expect(sent).not.toContain(exhausted.id);
      expect(sent).not.toContain(inFlight.id);
    });
  });

  describe("daily usage rollup (*/5 * * * *)", () => {
    it("rolls the day's counters into usage_daily and snapshots the tenant, logging one line", async () => {
      const t = await tenant();
      const user = await createUser(db.admin);
      await addMember(db.admin, t, user, "admin");
      const res = await api("/api/v1/members", { headers: bearer(await tokenFor(user, t)) });
      expect(res.status).toBe(200);
      await new Promise((r) => setTimeout(r, 1_500)); // the metrics flush, after the response
      const spy = vi.spyOn(console, "log");
      try {
        const row = await eventually(async () => {
          await runCron(RECONCILE_CRON, { PROVISION_QUEUE: capturingQueue().queue });
          const { rows } = await db.admin.query<{ api_calls_2xx: string; members: number | null }>(
            "select api_calls_2xx, members from usage_daily where tenant_id = $1 and day = (now() at time zone 'utc')::date",
            [t.id],
          );
          return rows[0]?.members == null ? undefined : rows[0];
        });
        expect(row).toEqual({ api_calls_2xx: "1", members: 1 });
        const lines = spy.mock.calls
          .map(([line]) => JSON.parse(String(line)) as Record<string, unknown>)
          .filter((l) => l.msg === "cron usage-rollup");
        expect(lines[0]).toMatchObject({
          level: "info",
          cron: RECONCILE_CRON,
          days: expect.any(Number),
          settled: expect.any(Number),
          backlog: expect.any(Boolean),
          snapshots: expect.any(Number),
        });
      } finally {
        spy.mockRestore();
      }
    });
  });

  it("fails a run for a cron expression it has no task for", async () => {
    await expect(runCron("0 4 * * *")).rejects.toThrow(/no scheduled task/);
  });
});
