import { createServer, type IncomingHttpHeaders, request } from "node:http";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  type ClientAddressFront,
  parseTrustClientIp,
  peerAddress,
  startClientAddressFront,
} from "../client-address-front";
import { closeServer, listen } from "../http-server";

describe("the dev stack's client-address front", () => {
  const seen: Array<{ headers: IncomingHttpHeaders; body: string; method: string; url: string }> = [];
  const worker = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => {
      seen.push({
        headers: req.headers,
        body: Buffer.concat(chunks).toString(),
        method: req.method ?? "",
        url: req.url ?? "",
      });
      res.writeHead(201, { "content-type": "application/json", "set-cookie": ["a=1", "b=2"] });
      res.end(JSON.stringify({ ok: true }));
    });
  });
  let strict: ClientAddressFront;
  let trusting: ClientAddressFront;

  beforeAll(async () => {
    const target = `http://127.0.0.1:${await listen(worker)}`;
    strict = await startClientAddressFront({ target, trustClientIp: false });
    trusting = await startClientAddressFront({ target, trustClientIp: true });
  });

  afterAll(async () => {
    await strict.stop();
    await trusting.stop();
    await closeServer(worker);
  });

  const last = () => seen.at(-1) as (typeof seen)[number];

  it("sets CF-Connecting-IP to the TCP peer, overwriting what the client sent, as Cloudflare's edge does", async () => {
    await fetch(`${strict.url}/api/v1/members`, { headers: { "cf-connecting-ip": "203.0.113.9" } });
    expect(last().headers["cf-connecting-ip"]).toBe("127.0.0.1");
    await fetch(`${strict.url}/api/v1/members`);
    expect(last().headers["cf-connecting-ip"]).toBe("127.0.0.1");
  });

  it("with TENANTRY_DEV_TRUST_CLIENT_IP=1, passes the client's own value (the peer's when it sends none)", async () => {
    await fetch(`${trusting.url}/x`, { headers: { "cf-connecting-ip": "203.0.113.9" } });
    expect(last().headers["cf-connecting-ip"]).toBe("203.0.113.9");
    await fetch(`${trusting.url}/x`);
    expect(last().headers["cf-connecting-ip"]).toBe("127.0.0.1");
  });

  it("forwards method, path, query, Host, body, status and repeated headers unchanged", async () => {
    // fetch may not set Host (a tenant subdomain, here): node:http may.
    const answer = await new Promise<{ status: number; cookies: string[]; body: string }>(
      (resolve, reject) => {
        const req = request(
          `${strict.url}/api/v1/tenants?limit=5`,
          { method: "POST", headers: { "content-type": "application/json", host: "acme.localhost:8787" } },
          (res) => {
            let body = "";
            res.on("data", (c: Buffer) => {
              body += c.toString();
            });
            res.on("end", () =>
              resolve({ status: res.statusCode ?? 0, cookies: res.headers["set-cookie"] ?? [], body }),
            );
          },
        );
        req.on("error", reject);
        req.end(JSON.stringify({ name: "x" }));
      },
    );
    expect(answer).toEqual({ status: 201, cookies: ["a=1", "b=2"], body: '{"ok":true}' });
    expect(last()).toMatchObject({ method: "POST", url: "/api/v1/tenants?limit=5", body: '{"name":"x"}' });
    expect(last().headers.host).toBe("acme.localhost:8787");
  });

  it("answers 502 when the Worker behind it is down", async () => {
    const orphan = await startClientAddressFront({ target: "http://127.0.0.1:1", trustClientIp: false });
    try {
      const res = await fetch(`${orphan.url}/health`);
      expect(res.status).toBe(502);
    } finally {
      await orphan.stop();
    }
  });

  it("reads its switch strictly, and writes an IPv4 peer without its IPv4-mapped prefix", () => {
    expect(parseTrustClientIp(undefined)).toBe(false);
    expect(parseTrustClientIp("0")).toBe(false);
    expect(parseTrustClientIp("1")).toBe(true);
    expect(() => parseTrustClientIp("yes")).toThrow(/^TENANTRY_DEV_TRUST_CLIENT_IP must be 1 or 0/);
    expect(peerAddress("::ffff:127.0.0.1")).toBe("127.0.0.1");
    expect(peerAddress("::1")).toBe("::1");
  });
});
