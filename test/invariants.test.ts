import fc from "fast-check";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Role } from "../src/db/schema";
import { pools } from "./support/db";
import {
  addMember,
  api,
  bearer,
  createTenant,
  createUser,
  jsonInit,
  type TestTenant,
  tokenFor,
} from "./support/fixtures";
import { fuzzPlan } from "./support/fuzz-plan";

/**
 * Random interleavings of lifecycle and membership writes — invitations accepted, roles
 * changed, members removed, keys and clusters created and deleted, tenants suspended,
 * reactivated, deleted and restored — run in concurrent batches through the API by a tenant
 * admin and a system admin. After every sequence: each tenant keeps at least one admin,
 * no count passes its quota, and no tenant holds a row that a request for another tenant
 * made. No answer is a 5xx.
 */
const PLAN = fuzzPlan("test/invariants.test.ts", { runs: 25, campaignRuns: 200, msPerRun: 2000 });
const QUOTAS = { members: 3, api_keys: 3, clusters: 2 } as const;

type Actor = "admin" | "system";
type Command =
  | { op: "invite"; role: Role; accept: boolean }
  | { op: "setRole"; pick: number; role: Role }
  | { op: "removeMember"; pick: number }
  | { op: "createKey" }
  | { op: "revokeKey"; pick: number }
  | { op: "createCluster" }
  | { op: "deleteCluster"; pick: number }
  | { op: "suspend" | "reactivate" | "delete" | "restore" };

interface World {
  tenant: TestTenant;
  adminToken: string;
  members: string[];
  keys: string[];
  clusters: string[];
  /** Every id a request for this tenant was answered with: the only rows it may hold. */
  issued: Set<string>;
}

const role = fc.constantFrom<Role>("admin", "member", "viewer");
const command: fc.Arbitrary<Command> = fc.oneof(
  fc.record({ op: fc.constant("invite" as const), role, accept: fc.boolean() }),
  fc.record({ op: fc.constant("setRole" as const), pick: fc.nat(), role }),
  fc.record({ op: fc.constant("removeMember" as const), pick: fc.nat() }),
  fc.record({ op: fc.constant("createKey" as const) }),
  fc.record({ op: fc.constant("revokeKey" as const), pick: fc.nat() }),
  fc.record({ op: fc.constant("createCluster" as const) }),
  fc.record({ op: fc.constant("deleteCluster" as const), pick: fc.nat() }),
  fc.record({
    op: fc.constantFrom("suspend" as const, "reactivate" as const, "delete" as const, "restore" as const),
  }),
);
const step = fc.record({
  world: fc.nat({ max: 1 }),
  actor: fc.constantFrom<Actor>("admin", "system"),
  command,
});

describe("invariants under random interleavings", { timeout: PLAN.timeout }, () => {
  const db = pools();
  let sys: Record<string, string>;
  let counter = 0;
  let requests = 0;
  const statuses = new Map<number, number>();

  beforeAll(async () => {
    const admin = await createUser(db.admin, { isSystemAdmin: true });
    sys = bearer(await tokenFor(admin, null, { isSystemAdmin: true }));
  });

  afterAll(() => db.end());

  async function newWorld(): Promise<World> {
    const tenant = await createTenant(db.admin);
    await db.admin.query("update tenants set quota_overrides = $2 where id = $1", [
      tenant.id,
      JSON.stringify(QUOTAS),
    ]);
    const admin = await createUser(db.admin);
    await addMember(db.admin, tenant, admin, "admin");
    return {
      tenant,
      adminToken: await tokenFor(admin, tenant),
      members: [admin.id],
      keys: [],
      clusters: [],
      issued: new Set([admin.id]),
    };
  }

  async function send(path: string, init: RequestInit): Promise<Response> {
    requests += 1;
    const res = await api(path, init);
    statuses.set(res.status, (statuses.get(res.status) ?? 0) + 1);
    expect(res.status, `${init.method ?? "GET"} ${path}: ${await res.clone().text()}`).toBeLessThan(500);
    return res;
  }

  async function run(w: World, actor: Actor, c: Command): Promise<void> {
    const headers = actor === "admin" ? bearer(w.adminToken) : { ...sys, "x-tenant-id": w.tenant.id };
    const pick = (list: string[], n: number) => list[n % Math.max(1, list.length)] ?? crypto.randomUUID();
    const json = async (res: Response) =>
      res.ok ? ((await res.json()) as Record<string, unknown>) : undefined;
    switch (c.op) {
      case "invite": {
        counter += 1;
        const email = `${w.tenant.slug}-${counter}@example.test`;
        const made = await json(
          await send("/api/v1/invitations", jsonInit("POST", { email, role: c.role }, headers)),
        );
        if (!made) return;
        w.issued.add((made.invitation as { id: string }).id);
        if (!c.accept) return;
        const body = { token: made.token, name: email, password: `pw-${crypto.randomUUID()}` };
        const ip = { "cf-connecting-ip": `100.96.${counter % 250}.${Math.floor(Math.random() * 250)}` };
        const joined = await json(await send("/api/v1/invitations/accept", jsonInit("POST", body, ip)));
        if (joined) {
          w.members.push(joined.user_id as string);
          w.issued.add(joined.user_id as string);
        }
        return;
      }
      case "setRole":
        await send(
          `/api/v1/members/${pick(w.members, c.pick)}`,
          jsonInit("PATCH", { role: c.role }, headers),
        );
        return;
      case "removeMember":
        await send(`/api/v1/members/${pick(w.members, c.pick)}`, { method: "DELETE", headers });
        return;
      case "createKey": {
        const made = await json(
          await send(
            "/api/v1/api-keys",
            jsonInit("POST", { name: `k${++counter}`, role: "viewer" }, headers),
          ),
        );
        if (made) {
          w.keys.push(made.id as string);
          w.issued.add(made.id as string);
        }
        return;
      }
      case "revokeKey":
        await send(`/api/v1/api-keys/${pick(w.keys, c.pick)}`, { method: "DELETE", headers });
        return;
      case "createCluster": {
        const body = { name: `c${++counter}`, api_server_url: "https://k8s.example.com", region: "eu" };
        const made = await json(await send("/api/v1/clusters", jsonInit("POST", body, headers)));
        if (made) {
          w.clusters.push(made.id as string);
          w.issued.add(made.id as string);
        }
        return;
      }
      case "deleteCluster":
        await send(`/api/v1/clusters/${pick(w.clusters, c.pick)}`, { method: "DELETE", headers });
        return;
      default: {
        const path = `/api/v1/tenants/${w.tenant.id}${c.op === "delete" ? "" : `/${c.op}`}`;
        const init =
          c.op === "suspend"
            ? jsonInit("POST", { reason: "random interleaving" }, sys)
            : { method: c.op === "delete" ? "DELETE" : "POST", headers: sys };
        await send(path, init);
      }
    }
  }

  async function checkInvariants(w: World): Promise<void> {
    const { rows } = await db.admin.query<{
      admins: number;
      members: number;
      pending: number;
      keys: number;
      clusters: number;
      foreign: string[];
    }>(
      `select
         (select count(*)::int from tenant_memberships where tenant_id = $1 and role = 'admin') as admins,
         (select count(*)::int from tenant_memberships where tenant_id = $1) as members,
         (select count(*)::int from invitations where tenant_id = $1 and accepted_at is null
            and revoked_at is null and expires_at > now()) as pending,
         (select count(*)::int from api_keys where tenant_id = $1 and revoked_at is null) as keys,
         (select count(*)::int from clusters where tenant_id = $1) as clusters,
         array(select id::text from invitations where tenant_id = $1
               union all select id::text from api_keys where tenant_id = $1
               union all select id::text from clusters where tenant_id = $1
               union all select user_id::text from tenant_memberships where tenant_id = $1) as foreign`,
      [w.tenant.id],
    );
    const state = rows[0];
    if (!state) throw new Error("no state");
    const label = `${w.tenant.slug}: ${JSON.stringify({ ...state, foreign: undefined })}`;
    expect(state.admins, label).toBeGreaterThanOrEqual(1);
    expect(state.members + state.pending, label).toBeLessThanOrEqual(QUOTAS.members);
    expect(state.keys, label).toBeLessThanOrEqual(QUOTAS.api_keys);
    expect(state.clusters, label).toBeLessThanOrEqual(QUOTAS.clusters);
    expect(
      state.foreign.filter((id) => !w.issued.has(id)),
      `${w.tenant.slug} holds rows no request for it made`,
    ).toEqual([]);
  }

  it(`hold after random concurrent sequences of writes on two tenants (${PLAN.title})`, async () => {
    let sequences = 0;
    await PLAN.assert(
      fc.asyncProperty(
        fc.array(fc.array(step, { minLength: 1, maxLength: 5 }), { minLength: 3, maxLength: 8 }),
        async (batches) => {
          sequences += 1;
          const worlds = [await newWorld(), await newWorld()];
          for (const batch of batches) {
            await Promise.all(batch.map((s) => run(worlds[s.world] as World, s.actor, s.command)));
          }
          for (const w of worlds) await checkInvariants(w);
        },
      ),
    );
    const summary = [...statuses.entries()].sort(([a], [b]) => a - b).map(([s, n]) => `${s}×${n}`);
    console.info(
      `invariants (seed ${PLAN.seed}): ${sequences} random sequences, ${requests} requests; statuses ${summary.join(" ")}`,
    );
    if (PLAN.path) return;
    expect(sequences).toBe(PLAN.numRuns);
    expect(statuses.get(201) ?? 0).toBeGreaterThan(0);
  });
});
