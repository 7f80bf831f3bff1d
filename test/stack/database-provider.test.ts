/**
 * The dedicated-database providers: the local one against a real Postgres, the Neon one
 * against the strict fake Neon API.
 */
import { randomUUID } from "node:crypto";
import { tmpdir } from "node:os";
import { join } from "node:path";
import pg from "pg";
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { localProvider } from "../../dev/databases/local-provider";
import { withClient, withDatabase } from "../../dev/migrate";
import { type FakeNeonApi, startFakeNeonApi } from "../../dev/servers/fake-neon-api";
import { type PostgresService, startPostgres } from "../../dev/servers/postgres";
import { DEFAULT_NEON_REGIONS, NeonApi, NeonOperationsError } from "../../src/databases/neon-api";
import { type DatabaseProvider, neonProvider } from "../../src/databases/provider";

const NOT_UUIDS = ["acme", `${randomUUID()}"; drop database postgres; --`, ""];

describe("the local provider", () => {
  let postgres: PostgresService;
  let provider: DatabaseProvider;
  const created = new Set<string>();
  const runtimeUrl = (port: number) =>
    `postgres://tenantry_app:runtime-pw@127.0.0.1:${port}/tenantry?sslmode=disable`;

  const databaseExists = (name: string) =>
    withClient(postgres.adminUrl, async (client) => {
      const { rowCount } = await client.query("select 1 from pg_database where datname = $1", [name]);
      return rowCount === 1;
    });

  const create = async (tenantId: string) => {
    const answer = await provider.create({ tenantId, region: "eu-central" });
    created.add(answer.ref);
    return answer;
  };

  beforeAll(async () => {
    postgres = await startPostgres({ dataDir: join(tmpdir(), `tenantry-db-provider-${process.pid}`) });
    provider = localProvider({ adminUrl: postgres.adminUrl, runtimeUrl: runtimeUrl(postgres.port) });
  });

  afterAll(async () => {
    for (const ref of created) await provider.drop(ref).catch(() => {});
    await postgres.stop();
  });

  it("creates the tenant's database and answers the runtime URL with that database", async () => {
    const tenantId = randomUUID();
    const { ref, connectionString } = await create(tenantId);

    expect(ref).toBe(`tenantry_t_${tenantId.replaceAll("-", "")}`);
    expect(await databaseExists(ref)).toBe(true);
    const url = new URL(connectionString);
    const expected = new URL(runtimeUrl(postgres.port));
    expected.pathname = `/${ref}`;
    expect(url.toString()).toBe(expected.toString());
  });

  it("names the database by the lower-cased uuid whatever its case", async () => {
    const tenantId = randomUUID();
    const { ref } = await create(tenantId.toUpperCase());
    expect(ref).toBe(`tenantry_t_${tenantId.replaceAll("-", "")}`);
  });

  it("refuses to create a tenant's database twice", async () => {
    const tenantId = randomUUID();
    const { ref } = await create(tenantId);
    await expect(provider.create({ tenantId, region: "eu-central" })).rejects.toThrow(
      `the database ${ref} of tenant ${tenantId} already exists`,
    );
  });

  it("drops the database, and dropping it again is fine", async () => {
    const { ref } = await create(randomUUID());
    await provider.drop(ref);
    expect(await databaseExists(ref)).toBe(false);
    await expect(provider.drop(ref)).resolves.toBeUndefined();
  });

  it("drops a database that has open connections", async () => {
    const { ref } = await create(randomUUID());
    const open = new pg.Client({ connectionString: withDatabase(postgres.adminUrl, ref) });
    // The forced drop ends this session; without a listener that would be an uncaught error.
    open.on("error", () => {});
    await open.connect();
    try {
      await provider.drop(ref);
      expect(await databaseExists(ref)).toBe(false);
    } finally {
      await open.end().catch(() => {});
    }
  });

  it.each(NOT_UUIDS)("refuses the tenant id %j before any SQL", async (tenantId) => {
    // Nothing listens on port 1: had it got as far as connecting, the error would say so.
    const offline = localProvider({
      adminUrl: "postgres://postgres@127.0.0.1:1/postgres",
      runtimeUrl: "postgres://app@127.0.0.1:1/tenantry",
    });
    await expect(offline.create({ tenantId, region: "eu-central" })).rejects.toThrow("is not a uuid");
  });

  it("refuses to drop a database it would not have created", async () => {
    for (const ref of ["postgres", "tenantry", "tenantry_t_x", `tenantry_t_${"0".repeat(32)}"`]) {
      await expect(provider.drop(ref)).rejects.toThrow("is not a tenant database name");
    }
    expect(await databaseExists("postgres")).toBe(true);
  });
});

describe("the Neon provider", () => {
  const API_KEY = "napi_test_0123456789abcdefghijklmnopqrstuv";
  const FAST_WAIT = { timeoutMs: 5_000, pollMs: 10 };
  let fake: FakeNeonApi;

  const provider = (wait = FAST_WAIT) =>
    neonProvider({
      api: new NeonApi({ apiKey: API_KEY, baseUrl: fake.url }),
      regions: DEFAULT_NEON_REGIONS,
      wait,
    });

  beforeEach(async () => {
    fake = await startFakeNeonApi({ apiKey: API_KEY, regions: Object.values(DEFAULT_NEON_REGIONS) });
  });
  afterEach(() => fake.stop());

  it("creates a project named for the tenant in the mapped region and answers its pooled URI", async () => {
    const tenantId = randomUUID();
    const { ref, connectionString } = await provider().create({ tenantId, region: "eu-central" });

    const [project] = fake.projects();
    expect(fake.projects()).toHaveLength(1);
    expect(project).toMatchObject({ id: ref, name: `tenantry-${tenantId}`, region_id: "aws-eu-central-1" });
    expect(new URL(connectionString).hostname).toBe(
      `${project?.endpointId}-pooler.eu-central-1.aws.neon.tech`,
    );
    // It waited: the first poll answered "running", the second "finished".
    expect(fake.requests().filter((r) => r.path === `/projects/${ref}/operations`)).toHaveLength(2);
  });

  it("drops the project, and dropping it again is fine", async () => {
    const neon = provider();
    const { ref } = await neon.create({ tenantId: randomUUID(), region: "eu-central" });
    await neon.drop(ref);
    expect(fake.projects()).toEqual([]);
    await expect(neon.drop(ref)).resolves.toBeUndefined();
  });

  it("refuses an unknown region without a request", async () => {
    await expect(provider().create({ tenantId: randomUUID(), region: "mars-north" })).rejects.toThrow(
      'no Neon region is configured for region "mars-north"',
    );
    expect(fake.requests()).toEqual([]);
  });

  it("refuses a tenant id that is not a uuid without a request", async () => {
    await expect(provider().create({ tenantId: "acme", region: "eu-central" })).rejects.toThrow(
      "is not a uuid",
    );
    expect(fake.requests()).toEqual([]);
  });

  it("deletes the project again when its operations do not finish in time", async () => {
    await fake.stop();
    fake = await startFakeNeonApi({
      apiKey: API_KEY,
      regions: Object.values(DEFAULT_NEON_REGIONS),
      finishAfterPolls: 1_000,
    });
    const err = await provider({ timeoutMs: 30, pollMs: 10 })
      .create({ tenantId: randomUUID(), region: "eu-central" })
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(NeonOperationsError);
    expect(fake.projects()).toEqual([]);
  });

  it("refuses to drop an empty ref", async () => {
    await expect(provider().drop("")).rejects.toThrow("a Neon project id is required");
    expect(fake.requests()).toEqual([]);
  });
});
