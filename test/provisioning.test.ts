import { env } from "cloudflare:workers";
import { namespaceName } from "@tenantry/contract";
import { SignJWT } from "jose";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import provisionerPackage from "../provisioner/package.json";
import { ConfigError, loadConfig } from "../src/env";
import { signJobToken } from "../src/jobs/job-token";
import { MAX_ATTEMPTS, RETRY_BASE_SECONDS } from "../src/jobs/policy";
import { pingProvisioner } from "../src/jobs/provisioner-client";
import { pools, uniqueSlug } from "./support/db";
import {
  addMember,
  api,
  bearer,
  createTenant,
  createUser,
  jsonInit,
  type TestTenant,
  tenantWithRoles,
  tokenFor,
} from "./support/fixtures";
import { expectProblem } from "./support/problems";
import {
  deliver,
  dryRunProvisionerUrl,
  eventually,
  hangingProvisionerUrl,
  insertJob,
  jobRow,
  kube,
} from "./support/provisioner";

interface ApiJob {
  id: string;
  kind: string;
  status: string;
  attempts: number;
  last_error: string | null;
  namespace: string;
  result: Record<string, unknown> | null;
  created_at: string;
  updated_at: string;
  sent_at: string | null;
  completed_at: string | null;
}

const ns = (tenant: { slug: string }) => namespaceName(tenant.slug);

describe("provisioning pipeline", () => {
  const db = pools();
  let sysHeaders: Record<string, string>;

  beforeAll(async () => {
    const sys = await createUser(db.admin, { isSystemAdmin: true });
    sysHeaders = bearer(await tokenFor(sys, null, { isSystemAdmin: true }));
  });

  afterAll(() => db.end());

  async function jobsOf(tenantId: string, headers = sysHeaders): Promise<ApiJob[]> {
    const res = await api(`/api/v1/tenants/${tenantId}/provisioning`, { headers });
    expect(res.status).toBe(200);
    return ((await res.json()) as { data: ApiJob[] }).data;
  }

  it("create tenant → queue → consumer → provisioner → Kubernetes API: the job succeeds", async () => {
    const slug = uniqueSlug("e2e");
    const started = Date.now();
    const res = await api(
      "/api/v1/tenants",
      jsonInit(
        "POST",
        {
          name: "End to end",
          slug,
          plan: "pro",
          admin_email: `${uniqueSlug("admin")}@example.test`,
          quota_overrides: { cpu_cores: 10 },
        },
        sysHeaders,
      ),
    );
    expect(res.status).toBe(201);
    const created = (await res.json()) as {
      tenant: { id: string };
      api_key: { key: string };
      provisioning_job: { id: string };
    };

    // The tenant's own admin (its API key) watches the job through the API.
    const adminKey = bearer(created.api_key.key);
    const job = await eventually(async () => {
      const [first] = await jobsOf(created.tenant.id, adminKey);
      return first?.status === "succeeded" ? first : undefined;
    });
    const elapsedMs = Date.now() - started;
    console.log(`create → succeeded: ${elapsedMs} ms`);

    expect(job).toMatchObject({
      id: created.provisioning_job.id,
      kind: "provision",
      status: "succeeded",
      attempts: 1,
      last_error: null,
      namespace: `tenant-${slug}`,
      result: { status: "succeeded", namespace: `tenant-${slug}`, pruned: [] },
    });
    expect(job.completed_at).not.toBeNull();
    expect((job.result?.applied as Array<{ kind: string }> | undefined)?.map((o) => o.kind).sort()).toEqual([
      "LimitRange",
      "Namespace",
      "NetworkPolicy",
      "ResourceQuota",
      "RoleBinding",
      "ServiceAccount",
    ]);

    const objects = await kube.objects(`tenant-${slug}`);
    const namespace = objects.find((o) => o.kind === "Namespace");
    expect(namespace?.metadata.labels).toMatchObject({
      "tenant-id": created.tenant.id,
      "tenant-slug": slug,
      "managed-by": "tenantry",
    });
    const quota = objects.find((o) => o.kind === "ResourceQuota");
    // The plan's quotas with the tenant's override applied (pro: 256 GiB memory; cpu overridden to 10).
    expect(quota?.spec?.hard).toMatchObject({
      "limits.cpu": "10",
      "limits.memory": "256Gi",
      "requests.nvidia.com/gpu": "4",
    });

    const seen = await kube.jobLog(created.provisioning_job.id);
    expect(seen).toEqual([expect.objectContaining({ kind: "provision", attempt: 1, status: "succeeded" })]);
  });

  it("redelivery of a succeeded job is a no-op", async () => {
    const tenant = await createTenant(db.admin);
    const job = await insertJob(db.admin, tenant.id, "provision");
    expect(await deliver(job.id)).toMatchObject({ acked: true, retried: false });
    const before = await jobRow(db.admin, job.id);
    const requests = (await kube.requests(ns(tenant))).length;
    expect(before).toMatchObject({ status: "succeeded", attempts: 1 });

    expect(await deliver(job.id, { attempts: 2 })).toMatchObject({ acked: true, retried: false });
    expect(await jobRow(db.admin, job.id)).toEqual(before);
    expect(await kube.requests(ns(tenant))).toHaveLength(requests);
    expect(await kube.jobLog(job.id)).toHaveLength(1);
  });

  it("concurrent deliveries of one job reach the provisioner once", async () => {
    const tenant = await createTenant(db.admin);
    const job = await insertJob(db.admin, tenant.id, "provision");
    // Hold the tenant's job lock so that both deliveries are claimed before either proceeds.
    const holder = await db.admin.connect();
    await holder.query("begin");
    await holder.query("select pg_advisory_xact_lock(hashtextextended($1, 0))", [
      `provisioning:${tenant.id}`,
    ]);
    const both = Promise.all([deliver(job.id), deliver(job.id, { attempts: 2 })]);
    try {
      await eventually(async () => ((await jobRow(db.admin, job.id))?.attempts === 2 ? true : undefined));
    } finally {
      await holder.query("commit");
      holder.release();
    }
    expect((await both).every((r) => r.acked)).toBe(true);
    expect(await kube.jobLog(job.id)).toHaveLength(1);
    expect(await jobRow(db.admin, job.id)).toMatchObject({ status: "succeeded", attempts: 2 });
  });

  it("provisioner failure (Kubernetes 500): retried with exponential backoff, then dead", async () => {
    const tenant = await createTenant(db.admin);
    const job = await insertJob(db.admin, tenant.id, "provision");
    await kube.fail(ns(tenant), { status: 500 });
    try {
      for (let attempt = 1; attempt < MAX_ATTEMPTS; attempt++) {
        const delivery = await deliver(job.id, { attempts: attempt });
        const ceiling = RETRY_BASE_SECONDS * 2 ** (attempt - 1);
        expect(delivery.retried).toBe(true);
        expect(delivery.delaySeconds).toBeGreaterThanOrEqual(ceiling / 2);
        expect(delivery.delaySeconds).toBeLessThanOrEqual(ceiling);
        const row = await jobRow(db.admin, job.id);
        expect(row).toMatchObject({ status: "failed", attempts: attempt, completed_at: null });
        // The provisioner's problem detail: what Kubernetes said.
        expect(row?.last_error).toMatch(/500|injected fault/);
      }
      // The last delivery: the job is dead and the message goes on to the dead-letter queue.
      const last = await deliver(job.id, { attempts: MAX_ATTEMPTS });
      expect(last).toMatchObject({ retried: true, acked: false });
      const dead = await jobRow(db.admin, job.id);
      expect(dead).toMatchObject({ status: "dead", attempts: MAX_ATTEMPTS });
      expect(dead?.completed_at).not.toBeNull();

      const log = await kube.jobLog(job.id);
      expect(log.map((l) => l.code)).toEqual(Array(MAX_ATTEMPTS).fill("kubernetes_error"));
      const [shown] = await jobsOf(tenant.id);
      expect(shown).toMatchObject({ id: job.id, status: "dead", attempts: MAX_ATTEMPTS });
      expect(shown?.last_error).toBe(dead?.last_error);

      // A dead job stays dead: another delivery is acknowledged without a call.
      expect(await deliver(job.id)).toMatchObject({ acked: true });
      expect(await kube.jobLog(job.id)).toHaveLength(MAX_ATTEMPTS);
    } finally {
      await kube.heal(ns(tenant));
    }
  });

  it("succeeds on the attempt after a failure and clears last_error", async () => {
    const tenant = await createTenant(db.admin);
    const job = await insertJob(db.admin, tenant.id, "provision");
    await kube.fail(ns(tenant), { status: 500, times: 1 });
    expect(await deliver(job.id)).toMatchObject({ retried: true });
    expect((await jobRow(db.admin, job.id))?.last_error).not.toBeNull();
    expect(await deliver(job.id, { attempts: 2 })).toMatchObject({ acked: true });
    expect(await jobRow(db.admin, job.id)).toMatchObject({
      status: "succeeded",
      attempts: 2,
      last_error: null,
    });
  });

  it("an unreachable provisioner is a failure to retry", async () => {
    const tenant = await createTenant(db.admin);
    const job = await insertJob(db.admin, tenant.id, "provision");
    const delivery = await deliver(job.id, { env: { PROVISIONER_URL: "http://127.0.0.1:1" } });
    expect(delivery.retried).toBe(true);
    const row = await jobRow(db.admin, job.id);
    expect(row).toMatchObject({ status: "failed", attempts: 1 });
    expect(row?.last_error).toMatch(/^provisioner unreachable/);
  });

  it("a job the provisioner refuses as invalid (400) is dead at once", async () => {
    const tenant = await createTenant(db.admin);
    // Above the provisioner's bound for a quantity: the request can never become valid.
    await db.admin.query("update tenants set quota_overrides = $2 where id = $1", [
      tenant.id,
      JSON.stringify({ cpu_cores: 5_000_000 }),
    ]);
    const job = await insertJob(db.admin, tenant.id, "provision");
    expect(await deliver(job.id)).toMatchObject({ acked: true, retried: false });
    const row = await jobRow(db.admin, job.id);
    expect(row).toMatchObject({ status: "dead", attempts: 1 });
    expect(row?.last_error).toBeTruthy();
  });

  describe("job tokens", () => {
    function jobBody(tenant: TestTenant, jobId: string, kind = "provision") {
      return {
        job: { id: jobId, kind, attempt: 1 },
        tenant: {
          id: tenant.id,
          slug: tenant.slug,
          plan: "free",
          quotas: { cpu_cores: 1, memory_gb: 1, storage_gb: 1, gpus: 0 },
        },
      };
    }
    const post = (token: string, text: string) =>
      fetch(`${env.PROVISIONER_URL}/v1/jobs`, {
        method: "POST",
        headers: { authorization: `Bearer ${token}`, "content-type": "application/json" },
        body: text,
      });

    it("the provisioner rejects a forged token and accepts the Worker's", async () => {
      const tenant = await createTenant(db.admin);
      const jobId = crypto.randomUUID();
      const text = JSON.stringify(jobBody(tenant, jobId));

      const forged = await new SignJWT({ kind: "provision", tenant_id: tenant.id })
        .setProtectedHeader({ alg: "HS256" })
        .setIssuer("tenantry")
        .setAudience("provisioner")
        .setSubject(jobId)
        .setJti(crypto.randomUUID())
        .setIssuedAt()
        .setExpirationTime("60s")
        .sign(new TextEncoder().encode("not-the-provisioner-secret-0123456789"));
      const refused = await post(forged, text);
      expect(refused.status).toBe(401);
      expect(await refused.json()).toMatchObject({ code: "invalid_token" });
      expect(await kube.requests(ns(tenant))).toEqual([]);

      const genuine = await post(
        await signJobToken(env.PROVISIONER_SECRET, jobBody(tenant, jobId), text),
        text,
      );
      expect(genuine.status).toBe(200);
      expect(await genuine.json()).toMatchObject({ job_id: jobId, status: "succeeded" });
    });

    it("a captured token authorises neither another body nor the same request again", async () => {
      const tenant = await createTenant(db.admin);
      const victim = await createTenant(db.admin);
      const jobId = crypto.randomUUID();
      const text = JSON.stringify(jobBody(tenant, jobId));
      const token = await signJobToken(env.PROVISIONER_SECRET, jobBody(tenant, jobId), text);

      const tampered = [
        JSON.stringify({
          ...jobBody(tenant, jobId),
          tenant: { ...jobBody(tenant, jobId).tenant, plan: "enterprise" },
        }),
        JSON.stringify(jobBody(victim, jobId, "deprovision")),
      ];
      for (const forged of tampered) {
        const res = await post(token, forged);
        expect(res.status).toBe(401);
        expect(await res.json()).toMatchObject({ code: "invalid_token" });
      }
      expect(await kube.requests(ns(tenant))).toEqual([]);
      expect(await kube.requests(ns(victim))).toEqual([]);

      expect((await post(token, text)).status).toBe(200);
      const applied = (await kube.requests(ns(tenant))).length;
      const replay = await post(token, text);
      expect(replay.status).toBe(401);
      expect(await replay.json()).toMatchObject({
        code: "invalid_token",
        detail: "the job token was already used",
      });
      expect(await kube.requests(ns(tenant))).toHaveLength(applied);
    });

    it("a Worker signing with the wrong secret gets its job refused and recorded as failed", async () => {
      const tenant = await createTenant(db.admin);
      const job = await insertJob(db.admin, tenant.id, "provision");
      const delivery = await deliver(job.id, {
        env: { PROVISIONER_SECRET: "a-secret-the-provisioner-does-not-know-0123" },
      });
      expect(delivery.retried).toBe(true);
      const row = await jobRow(db.admin, job.id);
      expect(row).toMatchObject({ status: "failed" });
      expect(row?.last_error).toMatch(/job token rejected/);
      expect(await kube.requests(ns(tenant))).toEqual([]);
    });
  });

  describe("a dry-run provisioner", () => {
    it("its answer is recorded and shown as dry_run, never succeeded, and the job is finished", async () => {
      const tenant = await createTenant(db.admin);
      const job = await insertJob(db.admin, tenant.id, "provision");
      const dryRun = { env: { PROVISIONER_URL: await dryRunProvisionerUrl() } };
      expect(await deliver(job.id, dryRun)).toMatchObject({ acked: true, retried: false });

      const row = await jobRow(db.admin, job.id);
      expect(row).toMatchObject({
        status: "dry_run",
        attempts: 1,
        last_error: null,
        result: { status: "dry_run", namespace: ns(tenant) },
      });
      expect(row?.completed_at).not.toBeNull();
      expect(await kube.requests(ns(tenant))).toEqual([]);
      const [shown] = await jobsOf(tenant.id);
      expect(shown).toMatchObject({ id: job.id, status: "dry_run", result: { status: "dry_run" } });

      // Finished like a succeeded job: redelivery sends nothing again.
      expect(await deliver(job.id, { ...dryRun, attempts: 2 })).toMatchObject({ acked: true });
      expect(await jobRow(db.admin, job.id)).toEqual(row);
      const answered = (await kube.jobLog(job.id)).filter((line) => line.msg === "job");
      expect(answered).toEqual([expect.objectContaining({ status: "dry_run", dry_run_provisioner: true })]);
    });
  });

  describe("pingProvisioner", () => {
    const config = (overrides: Record<string, unknown> = {}) => loadConfig({ ...env, ...overrides });

    it("reports a live provisioner's mode and version", async () => {
      expect(await pingProvisioner(config())).toEqual({
        reachable: true,
        mode: "live",
        version: provisionerPackage.version,
      });
    });

    it("reports a dry-run provisioner as such", async () => {
      expect(await pingProvisioner(config({ PROVISIONER_URL: await dryRunProvisionerUrl() }))).toEqual({
        reachable: true,
        mode: "dry_run",
        version: provisionerPackage.version,
      });
    });

    it("reports an unreachable provisioner, or one refusing the ping, without throwing", async () => {
      expect(await pingProvisioner(config({ PROVISIONER_URL: "http://127.0.0.1:1" }))).toMatchObject({
        reachable: false,
        mode: null,
        version: null,
        error: expect.stringMatching(/^provisioner unreachable/),
      });
      const refused = await pingProvisioner(
        config({ PROVISIONER_SECRET: "a-secret-the-provisioner-does-not-know-0123" }),
      );
      expect(refused).toMatchObject({ reachable: false, mode: null, version: null });
      expect(refused.error).toMatch(/refused the ping: job token rejected/);
    });

    it("gives up after 2 s on a provisioner that never answers", async () => {
      const started = Date.now();
      const status = await pingProvisioner(config({ PROVISIONER_URL: hangingProvisionerUrl() }));
      expect(status).toEqual({
        reachable: false,
        mode: null,
        version: null,
        error: "provisioner unreachable: timed out",
      });
      // Not before its 2 s budget (a lower bound load cannot break); the message proves the timeout.
      expect(Date.now() - started).toBeGreaterThanOrEqual(1_900);
    });
  });

  describe("PROVISIONER_URL", () => {
    const load = (url: string) => () => loadConfig({ ...env, PROVISIONER_URL: url });

    it("refuses plain http to a host that is not loopback, naming the variable", () => {
      for (const url of [
        "http://provisioner.example.com",
        "http://10.0.0.7:8080",
        "http://128.0.0.1",
        "http://localhost.example.com",
        "ftp://127.0.0.1",
      ]) {
        expect(load(url), url).toThrow(ConfigError);
        expect(load(url), url).toThrow(
          /^invalid configuration: PROVISIONER_URL must use https:\/\/ unless its host is loopback/,
        );
      }
    });

    it("accepts https anywhere and http on loopback", () => {
      for (const url of [
        "https://provisioner.example.com",
        "http://127.0.0.1:8080",
        "http://127.8.9.10",
        "http://[::1]:8080",
        "http://localhost:8080",
      ]) {
        expect(load(url)().PROVISIONER_URL, url).toBe(url);
      }
    });
  });

  describe("ordering: the tenant's current state wins", () => {
    const annotation = "tenantry.dev/suspended";

    async function namespaceState(tenant: TestTenant) {
      const objects = await kube.objects(ns(tenant));
      const namespace = objects.find((o) => o.kind === "Namespace");
      const quota = objects.find((o) => o.kind === "ResourceQuota");
      return {
        suspended: namespace?.metadata.annotations?.[annotation] === "true",
        pods: (quota?.spec?.hard as Record<string, string> | undefined)?.pods,
        cpu: (quota?.spec?.hard as Record<string, string> | undefined)?.["limits.cpu"],
      };
    }

    it("an old suspend delivered after a newer resume applies the active state", async () => {
      const tenant = await createTenant(db.admin);
      const suspend = await insertJob(db.admin, tenant.id, "suspend");
      const resume = await insertJob(db.admin, tenant.id, "resume");
      expect(await deliver(resume.id)).toMatchObject({ acked: true });
      expect(await deliver(suspend.id)).toMatchObject({ acked: true });

      expect(await namespaceState(tenant)).toMatchObject({ suspended: false, pods: undefined });
      const row = await jobRow(db.admin, suspend.id);
      expect(row).toMatchObject({ status: "succeeded", result: { sent_kind: "resume" } });
      expect(row?.result?.note).toMatch(/active/);
      expect((await kube.jobLog(suspend.id)).map((l) => l.kind)).toEqual(["resume"]);
    });

    it("a suspended tenant stays suspended whatever job arrives last", async () => {
      const tenant = await createTenant(db.admin, { status: "suspended" });
      const resume = await insertJob(db.admin, tenant.id, "resume");
      const quota = await insertJob(db.admin, tenant.id, "update_quota");
      await deliver(resume.id);
      await deliver(quota.id);
      expect(await namespaceState(tenant)).toMatchObject({ suspended: true, pods: "0" });
      expect((await kube.jobLog(quota.id)).map((l) => l.kind)).toEqual(["suspend"]);
    });

    it("an old update_quota carries the tenant's newest quotas", async () => {
      const tenant = await createTenant(db.admin);
      const quota = await insertJob(db.admin, tenant.id, "update_quota");
      await db.admin.query("update tenants set quota_overrides = $2 where id = $1", [
        tenant.id,
        JSON.stringify({ cpu_cores: 3 }),
      ]);
      await deliver(quota.id);
      expect(await namespaceState(tenant)).toMatchObject({ suspended: false, cpu: "3" });
      expect((await jobRow(db.admin, quota.id))?.result).not.toHaveProperty("sent_kind");
    });

    it("a deleted tenant's namespace is left alone by everything but deprovision", async () => {
      const tenant = await createTenant(db.admin, { status: "deleted" });
      const job = await insertJob(db.admin, tenant.id, "update_quota");
      expect(await deliver(job.id)).toMatchObject({ acked: true });
      expect(await jobRow(db.admin, job.id)).toMatchObject({
        status: "succeeded",
        result: { skipped: true },
      });
      expect(await kube.jobLog(job.id)).toEqual([]);
    });

    it("deprovision of a tenant restored in the meantime keeps its namespace and its rows", async () => {
      const tenant = await createTenant(db.admin);
      await deliver((await insertJob(db.admin, tenant.id, "provision")).id);
      const job = await insertJob(db.admin, tenant.id, "deprovision");
      expect(await deliver(job.id)).toMatchObject({ acked: true });
      expect(await jobRow(db.admin, job.id)).toMatchObject({
        status: "succeeded",
        result: { skipped: true },
      });
      expect((await kube.requests(ns(tenant))).filter((r) => r.method === "DELETE")).toEqual([]);
      expect(await kube.jobLog(job.id)).toEqual([]);
    });
  });

  it("acknowledges messages it cannot act on: unreadable bodies and unknown jobs", async () => {
    expect(await deliver("not-a-uuid")).toMatchObject({ acked: true, retried: false });
    expect(await deliver(crypto.randomUUID())).toMatchObject({ acked: true, retried: false });
  });

  describe("GET /api/v1/tenants/{id}/provisioning", () => {
    it("lists the tenant's jobs, oldest first, cursor-paginated", async () => {
      const { tenant, users } = await tenantWithRoles(db.admin);
      const ids = [];
      for (const kind of ["provision", "update_quota", "suspend"])
        ids.push((await insertJob(db.admin, tenant.id, kind)).id);
      const headers = bearer(users.admin.token);
      const first = await api(`/api/v1/tenants/${tenant.slug}/provisioning?limit=2`, { headers });
      expect(first.status).toBe(200);
      const page1 = (await first.json()) as { data: ApiJob[]; next_cursor: string | null };
      expect(page1.data.map((j) => j.id)).toEqual(ids.slice(0, 2));
      expect(page1.data[0]).toEqual({
        id: ids[0],
        kind: "provision",
        status: "pending",
        attempts: 0,
        last_error: null,
        namespace: `tenant-${tenant.slug}`,
        result: null,
        created_at: expect.any(String),
        updated_at: expect.any(String),
        sent_at: null,
        completed_at: null,
      });
      const second = await api(
        `/api/v1/tenants/${tenant.id}/provisioning?limit=2&cursor=${page1.next_cursor}`,
        {
          headers,
        },
      );
      const page2 = (await second.json()) as { data: ApiJob[]; next_cursor: string | null };
      expect(page2).toEqual({ data: [expect.objectContaining({ id: ids[2] })], next_cursor: null });
    });

    it("is for the tenant's admins and system admins only", async () => {
      const { tenant, users } = await tenantWithRoles(db.admin);
      await insertJob(db.admin, tenant.id, "provision");
      const path = `/api/v1/tenants/${tenant.id}/provisioning`;
      expect((await jobsOf(tenant.id)).length).toBe(1);
      await expectProblem(await api(path, { headers: bearer(users.member.token) }), 403, "forbidden");
      await expectProblem(await api(path, { headers: bearer(users.viewer.token) }), 403, "forbidden");

      const other = await tenantWithRoles(db.admin);
      await expectProblem(
        await api(path, { headers: bearer(other.users.admin.token) }),
        403,
        "tenant_mismatch",
      );
      await expectProblem(await api(path), 401, "unauthenticated");
      await expectProblem(
        await api(`/api/v1/tenants/${uniqueSlug("none")}/provisioning`, { headers: sysHeaders }),
        404,
        "tenant_not_found",
      );
    });

    it("shows a deleted tenant's jobs to system admins only", async () => {
      const { tenant, users } = await tenantWithRoles(db.admin);
      const job = await insertJob(db.admin, tenant.id, "deprovision");
      await db.admin.query("update tenants set status = 'deleted', deleted_at = now() where id = $1", [
        tenant.id,
      ]);
      expect((await jobsOf(tenant.id)).map((j) => j.id)).toEqual([job.id]);
      await expectProblem(
        await api(`/api/v1/tenants/${tenant.id}/provisioning`, { headers: bearer(users.admin.token) }),
        404,
        "tenant_not_found",
      );
    });

    it("shows nothing of other tenants' jobs", async () => {
      const a = await createTenant(db.admin);
      const b = await createTenant(db.admin);
      await insertJob(db.admin, b.id, "provision");
      const user = await createUser(db.admin);
      await addMember(db.admin, a, user, "admin");
      const res = await api(`/api/v1/tenants/${a.id}/provisioning`, {
        headers: bearer(await tokenFor(user, a)),
      });
      expect(((await res.json()) as { data: ApiJob[] }).data).toEqual([]);
    });
  });
});
