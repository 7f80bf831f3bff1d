/**
 * What `npm run bench` measures: the floor, the lightest route, a tenant read under every
 * auth mode (warm, and cold: every in-isolate cache emptied per request), and one write of
 * every resource kind. Requests rotate over the probe tenants, so caches and locks see
 * traffic spread over tenants as in production; a delete takes the next row of its pool.
 * Every scenario that reaches the tenant's own rows runs twice, for shared tenants and right
 * after for dedicated ones (their rows in databases of their own), so the two compare under
 * the same load on the machine.
 */
import type { Probe, WriteTarget } from "./seed";

export type ScenarioKind = "floor" | "baseline" | "read" | "cold" | "write" | "tenant_create";
export type Server = "api" | "floor" | "cold";

export interface RequestSpec {
  method: "GET" | "POST" | "PATCH" | "DELETE";
  path: string;
  headers: Record<string, string>;
  body?: string;
}

export interface Scenario {
  name: string;
  kind: ScenarioKind;
  server: Server;
  /** Concurrent connections when it is not the run's default (the cold read uses one). */
  connections?: number;
  /** How many requests it can make in all (a delete's pool), if bounded. */
  budget?: number;
  /** The pause after each sequential request, when its background work takes longer than usual. */
  samplePauseMs?: number;
  /** It reaches the tenant's own rows, so its tenant's database: it has a dedicated twin. */
  ownRows?: boolean;
  /** For a dedicated tenant's scenario, the shared one it repeats. */
  twin?: string;
  /** Request `i` of the scenario (0, 1, 2, … over warm-up, measurement and samples). */
  request(i: number): RequestSpec;
}

/** The probe tenants of one isolation tier. */
export interface TierInputs {
  readers: Probe[];
  writers: WriteTarget[];
}

export interface ScenarioInputs extends TierInputs {
  dedicated: TierInputs;
  systemAdminJwt: string;
  /** Distinguishes this run's tenant slugs and emails from earlier runs on the same database. */
  runId: string;
}

const READ_PATH = "/api/v1/clusters?limit=20";
/**
 * The collections of the tenant's own rows (its database's); API keys, members, invitations and
 * the tenant itself are identity rows, in the control database whatever the tier.
 */
const OWN_ROWS = ["/api/v1/clusters", "/api/v1/plugins", "/api/v1/credentials"];
/** A row id no pool holds: a request past the end of its pool answers 404 and counts as an error. */
const NO_ROW = "00000000-0000-4000-8000-000000000000";

/**
 * The floor Worker (bench/floor-worker.ts): a pass measures it before the reads and again
 * before the writes, and each ratio uses the nearer one, so drift in a shared machine's load
 * over the minutes between them does not pass for a difference between reads and writes.
 */
export function floorScenario(name = "floor (1 Neon query + 1 Upstash EVAL)"): Scenario {
  return { name, kind: "floor", server: "floor", request: () => ({ method: "GET", path: "/", headers: {} }) };
}

/** Tenant reads for shared tenants, each followed by its dedicated twin. */
export function readScenarios(inputs: ScenarioInputs): Scenario[] {
  return withDedicatedTwins(tenantReads(inputs), tenantReads(inputs.dedicated));
}

/** Writes for shared tenants, each one of the tenant's own rows followed by its dedicated twin. */
export function writeScenarios(inputs: ScenarioInputs): Scenario[] {
  return withDedicatedTwins(tenantWrites(inputs), tenantWrites({ ...inputs, ...inputs.dedicated }));
}

function withDedicatedTwins(shared: Scenario[], dedicated: Scenario[]): Scenario[] {
  return shared.flatMap((scenario) => {
    const twin = dedicated.find((d) => d.ownRows && d.name === scenario.name);
    return twin ? [scenario, { ...twin, name: `${twin.name}, dedicated`, twin: scenario.name }] : [scenario];
  });
}

function tenantReads({ readers }: TierInputs): Scenario[] {
  const probe = (i: number) => readers[i % readers.length] as Probe;
  const read = (name: string, kind: "read" | "cold", headers: (p: Probe) => Record<string, string>) => ({
    name,
    kind,
    server: kind === "cold" ? ("cold" as const) : ("api" as const),
    connections: kind === "cold" ? 1 : undefined,
    ownRows: reachesOwnRows(READ_PATH),
    request: (i: number): RequestSpec => ({ method: "GET", path: READ_PATH, headers: headers(probe(i)) }),
  });
  const jwt = (p: Probe) => ({ authorization: `Bearer ${p.jwt}` });
  const apiKey = (p: Probe) => ({ "x-api-key": p.apiKey });
  return [
    {
      name: "baseline GET /health/live",
      kind: "baseline",
      server: "api",
      request: () => ({ method: "GET", path: "/health/live", headers: {} }),
    },
    read("tenant read, JWT", "read", jwt),
    read("tenant read, API key", "read", apiKey),
    read("tenant read, subdomain", "read", (p) => ({ ...jwt(p), host: `${p.slug}.localhost` })),
    read("tenant read, X-Tenant-ID", "read", (p) => ({ ...jwt(p), "x-tenant-id": p.slug })),
    read("cold read, JWT (caches emptied)", "cold", jwt),
    read("cold read, API key (caches emptied)", "cold", apiKey),
  ];
}

function tenantWrites({
  writers,
  systemAdminJwt,
  runId,
}: TierInputs & Pick<ScenarioInputs, "systemAdminJwt" | "runId">): Scenario[] {
  const writer = (i: number) => writers[i % writers.length] as WriteTarget;
  const asAdmin = (
    w: WriteTarget,
    method: RequestSpec["method"],
    path: string,
    body?: unknown,
  ): RequestSpec => send(method, path, `Bearer ${w.probe.jwt}`, body);
  const asSystem = (method: RequestSpec["method"], path: string, body?: unknown): RequestSpec =>
    send(method, path, `Bearer ${systemAdminJwt}`, body);
  /** Row `i` of a pool, taken round-robin over the writers: request i deletes a row no other request deletes. */
  const poolRow = (kind: keyof WriteTarget["pools"], i: number) => {
    const w = writer(i);
    return { w, id: w.pools[kind][Math.floor(i / writers.length)] ?? NO_ROW };
  };
  const poolBudget = (kind: keyof WriteTarget["pools"]) =>
    writers.reduce((n, w) => n + w.pools[kind].length, 0);
  const create = (name: string, path: string, body: (i: number) => unknown): Scenario => ({
    name,
    kind: "write",
    server: "api",
    ownRows: reachesOwnRows(path),
    request: (i) => asAdmin(writer(i), "POST", path, body(i)),
  });
  const remove = (name: string, kind: keyof WriteTarget["pools"], path: string): Scenario => ({
    name,
    kind: "write",
    server: "api",
    ownRows: reachesOwnRows(path),
    budget: poolBudget(kind),
    request: (i) => {
      const { w, id } = poolRow(kind, i);
      return asAdmin(w, "DELETE", `${path}/${id}`);
    },
  });
  const patch = (name: string, path: (w: WriteTarget) => string, body: (i: number) => unknown): Scenario => ({
    name,
    kind: "write",
    server: "api",
    ownRows: reachesOwnRows(path(writer(0))),
    request: (i) => asAdmin(writer(i), "PATCH", path(writer(i)), body(i)),
  });
  return [
    create("create cluster, POST /clusters", "/api/v1/clusters", (i) => ({
      name: `bench-${i}`,
      api_server_url: "https://k8s.bench.example",
      region: "eu-west",
    })),
    patch(
      "patch cluster, PATCH /clusters/{id}",
      (w) => `/api/v1/clusters/${w.clusterId}`,
      (i) => ({ region: `region-${i % 7}` }),
    ),
    remove("delete cluster, DELETE /clusters/{id}", "cluster", "/api/v1/clusters"),
    create("create plugin, POST /plugins", "/api/v1/plugins", (i) => ({
      name: `bench-${i}`,
      version: "1.0.0",
      config: { replicas: 2 },
    })),
    patch(
      "patch plugin, PATCH /plugins/{id}",
      (w) => `/api/v1/plugins/${w.pluginId}`,
      (i) => ({ version: `1.0.${i}` }),
    ),
    remove("delete plugin, DELETE /plugins/{id}", "plugin", "/api/v1/plugins"),
    create("create credential, POST /credentials", "/api/v1/credentials", (i) => ({
      name: `bench-${i}`,
      kind: "token",
      value: `bench-secret-${i}`,
    })),
    remove("delete credential, DELETE /credentials/{id}", "credential", "/api/v1/credentials"),
    create("create API key, POST /api-keys", "/api/v1/api-keys", (i) => ({
      name: `bench-${i}`,
      role: "viewer",
    })),
    remove("revoke API key, DELETE /api-keys/{id}", "api_key", "/api/v1/api-keys"),
    create("create invitation, POST /invitations", "/api/v1/invitations", (i) => ({
      email: `invitee-${runId}-${i}@bench.example`,
      role: "member",
    })),
    {
      name: "change member role, PATCH /members/{userId}",
      kind: "write",
      server: "api",
      request: (i) => {
        const w = writer(i);
        const member = w.memberIds[Math.floor(i / writers.length) % w.memberIds.length] as string;
        return asAdmin(w, "PATCH", `/api/v1/members/${member}`, { role: i % 2 === 0 ? "viewer" : "member" });
      },
    },
    {
      name: "patch tenant (system admin), PATCH /tenants/{id}",
      kind: "write",
      server: "api",
      request: (i) =>
        asSystem("PATCH", `/api/v1/tenants/${writer(i).probe.id}`, { name: `Bench writer ${i}` }),
    },
  ];
}

/**
 * Tenant create, last of a pass: each one queues a provisioning job that the queue consumer
 * delivers up to a second later (its batch timeout), over the WebSocket Pool; after each
 * sequential request the bench waits that out, so the consumer's trips are not counted as the
 * next request's own.
 */
export function tenantCreateScenario({ systemAdminJwt, runId }: ScenarioInputs): Scenario {
  return {
    name: "create tenant (system admin), POST /tenants",
    kind: "tenant_create",
    server: "api",
    samplePauseMs: 1_500,
    request: (i) =>
      send("POST", "/api/v1/tenants", `Bearer ${systemAdminJwt}`, {
        name: `Bench new ${i}`,
        slug: `bench-new-${runId}-${i}`,
        admin_email: `owner-${i}@new-${runId}.bench.example`,
      }),
  };
}

function reachesOwnRows(path: string): boolean {
  const collection = path.split(/[/?]/).slice(0, 4).join("/");
  return OWN_ROWS.includes(collection);
}

function send(
  method: RequestSpec["method"],
  path: string,
  authorization: string,
  body?: unknown,
): RequestSpec {
  return body === undefined
    ? { method, path, headers: { authorization } }
    : {
        method,
        path,
        headers: { authorization, "content-type": "application/json" },
        body: JSON.stringify(body),
      };
}
