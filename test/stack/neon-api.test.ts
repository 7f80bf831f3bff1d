/**
 * The Neon API client (`src/databases/neon-api.ts`) against the strict fake Neon API: the
 * dedicated-database lifecycle, its failures, and that the fake itself refuses what the real
 * API would.
 */
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { type FakeNeonApi, type FakeNeonApiOptions, startFakeNeonApi } from "../../dev/servers/fake-neon-api";
import {
  DEFAULT_NEON_REGIONS,
  NeonApi,
  NeonApiError,
  NeonOperationsError,
  neonRegionId,
} from "../../src/databases/neon-api";

const API_KEY = "napi_test_0123456789abcdefghijklmnopqrstuv";
const REGIONS = Object.values(DEFAULT_NEON_REGIONS);
const FAST_WAIT = { timeoutMs: 5_000, pollMs: 10 };

let fake: FakeNeonApi;
let api: NeonApi;

async function startFake(options: Partial<FakeNeonApiOptions> = {}): Promise<void> {
  fake = await startFakeNeonApi({ apiKey: API_KEY, regions: REGIONS, ...options });
  api = new NeonApi({ apiKey: API_KEY, baseUrl: fake.url });
}

/** For the tests that need the fake configured otherwise than `beforeEach` starts it. */
async function restartFake(options: Partial<FakeNeonApiOptions>): Promise<void> {
  await fake.stop();
  await startFake(options);
}

/** The error a promise rejects with, so its fields can be checked. */
async function rejection(promise: Promise<unknown>): Promise<unknown> {
  return promise.then(
    () => expect.fail("expected a rejection"),
    (err: unknown) => err,
  );
}

/** A raw request to the fake, for the checks of its own strictness. */
function raw(path: string, init: { method?: string; headers?: Record<string, string>; body?: string }) {
  return fetch(`${fake.url}${path}`, {
    method: init.method ?? "GET",
    headers: init.headers,
    body: init.body,
  });
}

beforeEach(() => startFake());
afterEach(() => fake.stop());

describe("the dedicated database lifecycle", () => {
  it("creates a project in the mapped region, waits for its operations, and answers pooled URIs", async () => {
    const regionId = neonRegionId("eu-central", DEFAULT_NEON_REGIONS);
    const { projectId, connectionUri } = await api.createProject({ name: "tenant-acme", regionId });

    expect(projectId).toBe("fake-project-1");
    expect(fake.projects()).toMatchObject([
      { id: projectId, name: "tenant-acme", region_id: "aws-eu-central-1" },
    ]);
    const pooled = new URL(connectionUri);
    expect(pooled.hostname).toBe("ep-fake-1-pooler.eu-central-1.aws.neon.tech");
    expect(pooled.pathname).toBe("/neondb");
    expect(pooled.username).toBe("neondb_owner");

    await api.waitForOperations(projectId, FAST_WAIT);
    const polls = fake.requests().filter((r) => r.path.endsWith("/operations"));
    expect(polls.length).toBe(2);

    const direct = await api.connectionUri(projectId, {
      database: "neondb",
      role: "neondb_owner",
      pooled: false,
    });
    expect(new URL(direct).hostname).toBe("ep-fake-1.eu-central-1.aws.neon.tech");
    expect(
      await api.connectionUri(projectId, { database: "neondb", role: "neondb_owner", pooled: true }),
    ).toBe(connectionUri);
  });

  it("sends the bearer key, Accept and a JSON body the API documents", async () => {
    await api.createProject({ name: "tenant-acme", regionId: "aws-us-east-2" });
    const [create] = fake.requests();
    expect(create).toMatchObject({
      method: "POST",
      path: "/projects",
      authorization: `Bearer ${API_KEY}`,
      accept: "application/json",
      contentType: "application/json",
      body: { project: { name: "tenant-acme", region_id: "aws-us-east-2", pg_version: 17 } },
    });
  });

  it("fetches the pooled URI when the create answer carries no connection URIs", async () => {
    await restartFake({ omitConnectionUris: true });
    const { projectId, connectionUri } = await api.createProject({ name: "t", regionId: "aws-us-east-2" });
    expect(new URL(connectionUri).hostname).toBe("ep-fake-1-pooler.us-east-2.aws.neon.tech");
    expect(fake.requests().at(-1)).toMatchObject({
      method: "GET",
      path: `/projects/${projectId}/connection_uri`,
      query: { database_name: "neondb", role_name: "neondb_owner", pooled: "true" },
    });
  });

  it("deletes a project, and deleting it again is fine", async () => {
    const { projectId } = await api.createProject({ name: "t", regionId: "aws-us-east-2" });
    await api.deleteProject(projectId);
    expect(fake.projects()).toEqual([]);
    await expect(api.deleteProject(projectId)).resolves.toBeUndefined();
    expect(fake.requests().filter((r) => r.method === "DELETE").length).toBe(2);
  });
});

describe("failures", () => {
  it("answers a wrong key with a NeonApiError 401 that does not hold the key", async () => {
    const wrongKey = "napi_wrong_key_abcdefghijklmnopqrstuvwxyz";
    const wrong = new NeonApi({ apiKey: wrongKey, baseUrl: fake.url });
    const err = await rejection(wrong.createProject({ name: "t", regionId: "aws-us-east-2" }));
    expect(err).toBeInstanceOf(NeonApiError);
    expect(err).toMatchObject({ status: 401, method: "POST", path: "/projects" });
    expect((err as Error).message).toContain("authentication failed");
    expect((err as Error).message).not.toContain(wrongKey);
    expect((err as Error).message).not.toContain(API_KEY);
  });

  it("keeps the key out of the message even when the API echoes it", async () => {
    fake.failNext(400, { message: `bad token ${API_KEY}` });
    const err = await rejection(api.deleteProject("fake-project-9"));
    expect(err).toMatchObject({ status: 400 });
    expect((err as Error).message).toContain("bad token [redacted]");
    expect((err as Error).message).not.toContain(API_KEY);
  });

  it("refuses an unknown region with a clear error before any request", async () => {
    const attempt = () => neonRegionId("mars-north", DEFAULT_NEON_REGIONS);
    expect(attempt).toThrow('no Neon region is configured for region "mars-north"');
    expect(attempt).toThrow("us-east, eu-central, ap-southeast");
    expect(() => neonRegionId("toString", DEFAULT_NEON_REGIONS)).toThrow(/no Neon region/);
    expect(fake.requests()).toEqual([]);
  });

  it("retries a 429 after the server's Retry-After", async () => {
    fake.failNext(429, { retryAfterSeconds: 1 });
    const started = Date.now();
    const { projectId } = await api.createProject({ name: "t", regionId: "aws-us-east-2" });
    expect(Date.now() - started).toBeGreaterThanOrEqual(950);
    expect(projectId).toBe("fake-project-1");
    expect(fake.requests().map((r) => r.method)).toEqual(["POST", "POST"]);
  });

  it("gives up on 429 after three tries", async () => {
    for (let i = 0; i < 3; i++) fake.failNext(429, { retryAfterSeconds: 0 });
    const err = await rejection(api.createProject({ name: "t", regionId: "aws-us-east-2" }));
    expect(err).toBeInstanceOf(NeonApiError);
    expect(err).toMatchObject({ status: 429 });
    expect(fake.requests().length).toBe(3);
    expect(fake.projects()).toEqual([]);
  });

  it("does not wait out a Retry-After beyond its bound", async () => {
    fake.failNext(429, { retryAfterSeconds: 3600 });
    const started = Date.now();
    const err = await rejection(api.createProject({ name: "t", regionId: "aws-us-east-2" }));
    expect(err).toMatchObject({ status: 429 });
    expect(Date.now() - started).toBeLessThan(1_000);
    expect(fake.requests().length).toBe(1);
  });

  it("surfaces a 500 as a NeonApiError with the API's message, without retrying", async () => {
    fake.failNext(500, { message: "control plane unavailable" });
    const err = await rejection(api.createProject({ name: "t", regionId: "aws-us-east-2" }));
    expect(err).toBeInstanceOf(NeonApiError);
    expect(err).toMatchObject({ status: 500, apiMessage: "control plane unavailable", code: "INJECTED" });
    expect(fake.requests().length).toBe(1);
  });

  it("times out waiting for operations that never finish", async () => {
    await restartFake({ finishAfterPolls: 1_000_000 });
    const { projectId } = await api.createProject({ name: "t", regionId: "aws-us-east-2" });
    const started = Date.now();
    const err = await rejection(api.waitForOperations(projectId, { timeoutMs: 200, pollMs: 20 }));
    expect(err).toBeInstanceOf(NeonOperationsError);
    expect(err).toMatchObject({ projectId, reason: "timeout" });
    expect(Date.now() - started).toBeLessThan(2_000);
  });

  it("throws when an operation fails", async () => {
    await restartFake({ finishAfterPolls: 1_000_000 });
    const { projectId } = await api.createProject({ name: "t", regionId: "aws-us-east-2" });
    fake.failOperations(projectId);
    const err = await rejection(api.waitForOperations(projectId, FAST_WAIT));
    expect(err).toMatchObject({ name: "NeonOperationsError", reason: "failed" });
    expect((err as Error).message).toMatch(/create_timeline|start_compute/);
  });

  it("answers 404 for an unknown project's operations", async () => {
    const err = await rejection(api.waitForOperations("fake-project-404", FAST_WAIT));
    expect(err).toMatchObject({ status: 404, path: "/projects/fake-project-404/operations" });
  });
});

describe("the fake is strict", () => {
  const json = {
    authorization: `Bearer ${API_KEY}`,
    accept: "application/json",
    "content-type": "application/json",
  };
  const body = (project: unknown) => JSON.stringify({ project });

  it("refuses an unknown body field with 400", async () => {
    const top = await raw("/projects", {
      method: "POST",
      headers: json,
      body: JSON.stringify({ project: { region_id: "aws-us-east-2" }, extra: 1 }),
    });
    expect(top.status).toBe(400);
    const nested = await raw("/projects", {
      method: "POST",
      headers: json,
      body: body({ region_id: "aws-us-east-2", regionId: "aws-us-east-2" }),
    });
    expect(nested.status).toBe(400);
    expect(await nested.json()).toMatchObject({ message: 'unknown field "project.regionId"' });
  });

  it("refuses a body without project, or with an unconfigured region, with 400", async () => {
    const missing = await raw("/projects", { method: "POST", headers: json, body: "{}" });
    expect(missing.status).toBe(400);
    const region = await raw("/projects", {
      method: "POST",
      headers: json,
      body: body({ region_id: "aws-mars-1" }),
    });
    expect(region.status).toBe(400);
    expect(fake.projects()).toEqual([]);
  });

  it("refuses a request without the bearer key with 401", async () => {
    const { authorization: _, ...noBearer } = json;
    const res = await raw("/projects", {
      method: "POST",
      headers: noBearer,
      body: body({ region_id: "aws-us-east-2" }),
    });
    expect(res.status).toBe(401);
    expect(fake.projects()).toEqual([]);
  });

  it("refuses a body that is not application/json with 415", async () => {
    const res = await raw("/projects", {
      method: "POST",
      headers: { ...json, "content-type": "text/plain" },
      body: body({ region_id: "aws-us-east-2" }),
    });
    expect(res.status).toBe(415);
    expect(fake.projects()).toEqual([]);
  });

  it("refuses a client that does not accept JSON with 406, and unknown query parameters with 400", async () => {
    const { accept: _, ...noAccept } = json;
    expect((await raw("/projects/fake-project-1/operations", { headers: noAccept })).status).toBe(406);
    const { projectId } = await api.createProject({ name: "t", regionId: "aws-us-east-2" });
    const res = await raw(
      `/projects/${projectId}/connection_uri?database_name=neondb&role_name=neondb_owner&db=x`,
      {
        headers: json,
      },
    );
    expect(res.status).toBe(400);
  });
});
