import { describe, expect, it } from "vitest";
import { ContractError, expectDocumented } from "./support/contract";
import { api } from "./support/fixtures";

/**
 * The response check every test helper applies (test/support/contract.ts), shown to refuse
 * what the document does not allow: real answers of the Worker pass, doctored ones fail.
 */
const HEALTHY = { status: "ok", checks: { db: "ok", redis: "ok" } };

const json = (body: unknown, status = 200, type = "application/json") =>
  new Response(JSON.stringify(body), { status, headers: { "content-type": type } });

const problem = (status: number, code: string) =>
  json({ type: "about:blank", title: "t", status, detail: "d", code }, status, "application/problem+json");

async function refusal(method: string, path: string, res: Response): Promise<string> {
  const error = await expectDocumented(method, `http://localhost${path}`, res).then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(ContractError);
  return (error as ContractError).message;
}

describe("every response is checked against the OpenAPI document", () => {
  it("passes the Worker's own answers: a documented route, an unknown path (404) and a wrong method (405)", async () => {
    expect((await api("/health/live")).status).toBe(200);
    expect((await api("/no-such-path")).status).toBe(404);
    expect((await api("/health", { method: "DELETE" })).status).toBe(405);
  });

  it("refuses a status the operation does not declare", async () => {
    expect(await refusal("GET", "/health", json(HEALTHY, 404))).toMatch(
      /GET \/health answered 404.*\(GET \/health\): the status is not declared \(200, 500, 503\)/,
    );
  });

  it("refuses a content type the status does not declare", async () => {
    const res = new Response("ok", { headers: { "content-type": "text/plain" } });
    expect(await refusal("GET", "/health", res)).toMatch(
      /content type text\/plain is not one of application\/json/,
    );
  });

  it("refuses a body that does not match the schema, naming where", async () => {
    const message = await refusal("GET", "/health", json({ status: "fine", checks: { db: "ok" } }));
    expect(message).toMatch(/does not match its schema/);
    expect(message).toMatch(/#\/status/);
    expect(message).toMatch(/redis/);
  });

  it("refuses properties the schema does not name, at any depth", async () => {
    const body = { ...HEALTHY, checks: { ...HEALTHY.checks, disk: "ok" }, version: "1" };
    expect(await refusal("GET", "/health", json(body))).toMatch(/does not name: #\/checks\/disk, #\/version/);
  });

  it("refuses a problem code the response does not name", async () => {
    expect(await refusal("GET", "/health", problem(500, "not_found"))).toMatch(
      /problem code not_found is not one it names for 500: internal/,
    );
  });

  it("holds paths and methods the document does not have to the Problem schema", async () => {
    expect(await refusal("GET", "/no-such-path", new Response("Not Found", { status: 404 }))).toMatch(
      /a path the document does not have: held to the Problem schema/,
    );
    expect(await refusal("PUT", "/health", json({ error: "nope" }, 405))).toMatch(
      /no PUT in \/health: held to the Problem schema/,
    );
  });

  it("matches a literal path before a template (/invitations/accept is not /invitations/{id})", async () => {
    expect(await refusal("POST", "/api/v1/invitations/accept", json({}, 418))).toMatch(
      /\(POST \/api\/v1\/invitations\/accept\)/,
    );
  });

  it("leaves the console, the API reference and the document itself alone", async () => {
    for (const path of ["/console/tenants", "/docs", "/openapi.json"])
      await expectDocumented("GET", `http://localhost${path}`, new Response("<html>", { status: 200 }));
  });
});
