import { env } from "cloudflare:workers";
import { exportJWK, generateKeyPair, importJWK, SignJWT } from "jose";
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from "vitest";
import { clock } from "../src/lib/clock";
import { utf8 } from "../src/lib/encoding";
import { hashPassword } from "../src/lib/passwords";
import { generateKey } from "../src/services/access/api-keys";
import { attackCounter, expectHandled } from "./support/attack";
import { pools, uniqueSlug } from "./support/db";
import {
  addMember,
  bearer,
  createTenant,
  createUser,
  jsonInit,
  type TestTenant,
  type TestUser,
  tenantWithRoles,
  tokenFor,
} from "./support/fixtures";
import { expectProblem } from "./support/problems";

/**
 * Attacks on who the caller is — lying claims, forged headers, guessed API keys — and on
 * what a stranger can learn: which tenants exist, which emails have accounts (by answer or
 * by time), and whether any secret ends up in the logs. The plain JWT and API key refusals
 * (alg none, wrong secret, expiry, revoked keys…) live in auth.test.ts and api-keys.test.ts.
 */
describe("credential attacks", () => {
  const db = pools();
  const attack = attackCounter("credential attacks");
  let f: Awaited<ReturnType<typeof tenantWithRoles>>;
  let other: TestTenant;
  let viewerKey: string;

  beforeAll(async () => {
    f = await tenantWithRoles(db.admin);
    other = await createTenant(db.admin);
    const key = await generateKey(f.tenant.slug);
    await db.admin.query(
      "insert into api_keys (tenant_id, name, role, prefix, key_hash) values ($1, 'attacked', 'viewer', $2, $3)",
      [f.tenant.id, key.prefix, key.hash],
    );
    viewerKey = key.key;
  });

  afterEach(() => {
    clock.offsetMs = 0;
  });

  afterAll(() => db.end());

  const now = () => Math.floor(Date.now() / 1000);
  /** A token signed with the real secret: the claims are what the attacker controls. */
  const signed = (user: TestUser, claims: Record<string, unknown>) =>
    new SignJWT({ sub: user.id, ...claims })
      .setProtectedHeader({ alg: "HS256" })
      .setIssuer(env.JWT_ISSUER)
      .setAudience(env.JWT_AUDIENCE)
      .setIssuedAt(now())
      .setExpirationTime(now() + 600)
      .sign(utf8(env.JWT_SECRET));

  describe("claims are not privileges", () => {
    it("is_system_admin: true in a valid token does not make a system admin", async () => {
      const token = await signed(f.users.admin, {
        tenant_id: f.tenant.id,
        tenant_slug: f.tenant.slug,
        is_system_admin: true,
      });
      await expectProblem(await attack.send("/api/v1/tenants", { headers: bearer(token) }), 403, "forbidden");
      const elsewhere = await attack.send("/api/v1/members", {
        headers: { ...bearer(token), "x-tenant-id": other.slug },
      });
      await expectProblem(elsewhere, 403, "tenant_mismatch");
      const me = (await (await attack.send("/api/v1/me", { headers: bearer(token) })).json()) as {
        user: { is_system_admin: boolean };
      };
      expect(me.user.is_system_admin).toBe(false);
    });

    it("role: admin in a viewer's token does not make an admin", async () => {
      const token = await signed(f.users.viewer, {
        tenant_id: f.tenant.id,
        tenant_slug: f.tenant.slug,
        role: "admin",
      });
      const res = await attack.send(
        "/api/v1/api-keys",
        jsonInit("POST", { name: "x", role: "admin" }, bearer(token)),
      );
      await expectProblem(res, 403, "forbidden");
    });

    it("a tenant claim the user holds no membership in, or id and slug of two tenants, gets nothing", async () => {
      const foreign = await signed(f.users.admin, { tenant_id: other.id, tenant_slug: other.slug });
      await expectProblem(
        await attack.send("/api/v1/members", { headers: bearer(foreign) }),
        403,
        "forbidden",
      );
      const split = await signed(f.users.admin, { tenant_id: f.tenant.id, tenant_slug: other.slug });
      for (const selector of [other.slug, other.id]) {
        const res = await attack.send("/api/v1/members", {
          headers: { ...bearer(split), "x-tenant-id": selector },
        });
        expect([403], selector).toContain(res.status);
        expect(await res.text()).not.toContain(f.users.admin.email);
      }
    });

    it("an IdP token claiming system admin is not one either", async () => {
      const jwk = (JSON.parse(env.TEST_JWKS_PRIVATE_KEYS) as Record<string, { kid: string; alg: string }>)
        .rsa;
      if (!jwk) throw new Error("no IdP key");
      const token = await new SignJWT({ sub: f.users.viewer.id, is_system_admin: true, role: "admin" })
        .setProtectedHeader({ alg: jwk.alg, kid: jwk.kid })
        .setIssuer(env.JWT_ISSUER)
        .setAudience(env.JWT_AUDIENCE)
        .setIssuedAt(now())
        .setExpirationTime(now() + 600)
        .sign(await importJWK(jwk, jwk.alg));
      await expectProblem(await attack.send("/api/v1/tenants", { headers: bearer(token) }), 403, "forbidden");
    });

    it("forged headers: an embedded jwk, a jku, a kid path, alg variants and unknown crit are refused", async () => {
      const attacker = await generateKeyPair("RS256", { extractable: true });
      const publicJwk = await exportJWK(attacker.publicKey);
      const claims = {
        sub: f.users.admin.id,
        tenant_id: f.tenant.id,
        tenant_slug: f.tenant.slug,
        is_system_admin: true,
      };
      const build = (header: Record<string, unknown>) =>
        new SignJWT(claims)
          .setProtectedHeader(header as { alg: string })
          .setIssuer(env.JWT_ISSUER)
          .setAudience(env.JWT_AUDIENCE)
          .setIssuedAt(now())
          .setExpirationTime(now() + 600);
      const payload = { ...claims, iss: env.JWT_ISSUER, aud: env.JWT_AUDIENCE, iat: now(), exp: now() + 600 };
      const b64url = (bytes: Uint8Array) =>
        btoa(String.fromCharCode(...bytes))
          .replaceAll("=", "")
          .replaceAll("+", "-")
          .replaceAll("/", "_");
      const b64 = (value: unknown) => b64url(utf8(JSON.stringify(value)));
      /** Signed by hand: jose refuses to sign a header it would not accept. */
      const hs256 = async (header: Record<string, unknown>) => {
        const input = `${b64(header)}.${b64(payload)}`;
        const key = await crypto.subtle.importKey(
          "raw",
          utf8(env.JWT_SECRET),
          { name: "HMAC", hash: "SHA-256" },
          false,
          ["sign"],
        );
        return `${input}.${b64url(new Uint8Array(await crypto.subtle.sign("HMAC", key, utf8(input))))}`;
      };
      const tokens = [
        await build({ alg: "RS256", jwk: publicJwk }).sign(attacker.privateKey),
        await build({ alg: "RS256", kid: "rsa-1", jku: "http://127.0.0.1:1/jwks.json" }).sign(
          attacker.privateKey,
        ),
        await build({ alg: "HS256", kid: "../../../../dev/null" }).sign(new Uint8Array(32)),
        await build({ alg: "HS512" }).sign(utf8(env.JWT_SECRET)),
        // A valid signature under our secret, but a critical extension nobody understands.
        await hs256({ alg: "HS256", crit: ["exp-critical"], "exp-critical": true }),
        ...["None", "NONE", "nOnE"].map((alg) => `${b64({ alg, typ: "JWT" })}.${b64(payload)}.`),
      ];
      for (const token of tokens) {
        await expectProblem(
          await attack.send("/api/v1/members", { headers: bearer(token) }),
          401,
          "invalid_token",
        );
      }
    });

    it("credentials only count in Authorization or X-API-Key: not in the query, a cookie or other headers", async () => {
      const token = await tokenFor(f.users.admin, f.tenant);
      const attempts: { path: string; headers: Record<string, string> }[] = [
        { path: `/api/v1/members?access_token=${token}`, headers: {} },
        { path: `/api/v1/members?api_key=${viewerKey}`, headers: {} },
        { path: "/api/v1/members", headers: { cookie: `token=${token}; api_key=${viewerKey}` } },
        { path: "/api/v1/members", headers: { "x-access-token": token, "x-auth-token": viewerKey } },
        { path: "/api/v1/members", headers: { "proxy-authorization": `Bearer ${token}` } },
      ];
      for (const init of attempts) {
        await expectProblem(await attack.send(init.path, { headers: init.headers }), 401, "unauthenticated");
      }
    });
  });

  describe("guessing API keys", () => {
    const members = (ip: string, headers: Record<string, string>) =>
      attack.send("/api/v1/members", { headers: { ...headers, "cf-connecting-ip": ip } });
    const freshIp = () => `198.18.${Math.floor(Math.random() * 250)}.${Math.floor(Math.random() * 250)}`;

    it("10 failed credentials a minute per client address; then even a valid key from there is refused", async () => {
      const ip = freshIp();
      const secret = viewerKey.slice(`uk_${f.tenant.slug}_`.length);
      const guesses = (i: number) =>
        [
          { "x-api-key": `uk_${f.tenant.slug}_${secret.slice(0, -6)}${String(i).padStart(6, "0")}` },
          { authorization: `Bearer uk_${other.slug}_${secret}` },
          bearer(`not.a.jwt${i}`),
        ][i % 3] as Record<string, string>;
      let firstRefusal = 0;
      for (let i = 1; i <= 21 && firstRefusal === 0; i++) {
        const res = await members(ip, guesses(i));
        if (res.status === 429) firstRefusal = i;
        else await expectProblem(res, 401, "invalid_token");
      }
      // The 11th failure in the window is refused (one window boundary may restart the count).
      expect(firstRefusal).toBeGreaterThanOrEqual(11);
      const blocked = await expectProblem(await members(ip, { "x-api-key": viewerKey }), 429, "rate_limited");
      expect(blocked.policies).toEqual(["credential-failures-ip"]);
      expect(
        Number((await members(ip, { "x-api-key": viewerKey })).headers.get("retry-after")),
      ).toBeGreaterThan(0);
      // Other addresses are untouched, and a valid key never counts against its own address.
      expect((await members(freshIp(), { "x-api-key": viewerKey })).status).toBe(200);
      await expectProblem(await members(freshIp(), guesses(1)), 401, "invalid_token");
      const honest = freshIp();
      for (let i = 0; i < 15; i++)
        expect((await members(honest, { "x-api-key": viewerKey })).status).toBe(200);
      // After the window the address may try again.
      clock.offsetMs = 61_000;
      expect((await members(ip, { "x-api-key": viewerKey })).status).toBe(200);
    });
  });

  describe("enumeration", () => {
    let sys: Record<string, string>;
    let deleted: TestTenant;
    let member: TestUser & { password: string };

    beforeAll(async () => {
      const admin = await createUser(db.admin, { isSystemAdmin: true });
      sys = bearer(await tokenFor(admin, null, { isSystemAdmin: true }));
      deleted = await createTenant(db.admin, { status: "deleted" });
      const password = `pw-${crypto.randomUUID()}`;
      member = { ...(await createUser(db.admin, { passwordHash: await hashPassword(password) })), password };
      await addMember(db.admin, deleted, member, "admin");
      await addMember(db.admin, f.tenant, member, "viewer");
    });

    /** Status and body with the request id taken out: what tells one case from another. */
    async function shape(res: Response) {
      const body = (await res.json()) as Record<string, unknown>;
      const { request_id: _, ...rest } = body;
      return { status: res.status, body: rest, type: res.headers.get("content-type") };
    }

    it("an unknown and a deleted tenant answer identically, however they are named", async () => {
      const unknown = uniqueSlug("never");
      const probes: Array<(slug: string) => [string, RequestInit & { host?: string }]> = [
        (slug) => ["/api/v1/members", { headers: { ...sys, "x-tenant-id": slug } }],
        (slug) => ["/api/v1/members", { host: `${slug}.localhost`, headers: sys }],
        (slug) => [`/api/v1/audit-events?tenant=${slug}`, { headers: sys }],
        (slug) => [`/api/v1/tenants/${slug}/usage`, { headers: sys }],
        (slug) => [`/api/v1/tenants/${slug}`, { headers: bearer(f.users.admin.token) }],
        (slug) => ["/api/v1/members", { headers: { "x-api-key": `uk_${slug}_${"A".repeat(40)}` } }],
        (slug) => ["/api/v1/members", { headers: { ...bearer(f.users.viewer.token), "x-tenant-id": slug } }],
        (slug) => ["/api/v1/members", { host: `${slug}.localhost` }],
        (slug) => [
          "/api/v1/auth/login",
          jsonInit(
            "POST",
            { email: member.email, password: member.password, tenant: slug },
            { "cf-connecting-ip": `192.0.2.${Math.floor(Math.random() * 250)}` },
          ),
        ],
        (slug) => ["/api/v1/auth/switch", jsonInit("POST", { tenant: slug }, bearer(f.users.admin.token))],
      ];
      for (const probe of probes) {
        const [path, init] = probe(unknown);
        const a = await shape(await attack.send(path, init));
        const b = await shape(await attack.send(...probe(deleted.slug)));
        expect(a.status, path).toBeGreaterThanOrEqual(400);
        expect(b, `${path}: deleted differs from unknown`).toEqual(a);
      }
    });

    it("login answers a known and an unknown email identically; the timing is reported over many tries", async () => {
      const known: TestUser[] = [];
      for (let i = 0; i < 8; i++) {
        known.push(
          await createUser(db.admin, {
            passwordHash: await hashPassword(`right-${i}-${crypto.randomUUID()}`),
          }),
        );
      }
      const timings = { known: [] as number[], unknown: [] as number[] };
      const bodies = new Set<string>();
      const tries = 24;
      for (let i = 0; i < tries; i++) {
        const cases: [keyof typeof timings, string][] = [
          ["known", (known[i % known.length] as TestUser).email],
          ["unknown", `${uniqueSlug("nobody")}@example.test`],
        ];
        if (i % 2 === 1) cases.reverse();
        for (const [kind, email] of cases) {
          const started = performance.now();
          const res = await attack.send(
            "/api/v1/auth/login",
            jsonInit(
              "POST",
              { email, password: "a-wrong-password" },
              { "cf-connecting-ip": `100.64.${i}.${kind === "known" ? 1 : 2}` },
            ),
          );
          timings[kind].push(performance.now() - started);
          const { body } = await shape(res);
          expect(res.status).toBe(401);
          bodies.add(JSON.stringify(body));
        }
      }
      expect(bodies.size).toBe(1);
      const stats = (xs: number[]) => {
        const sorted = [...xs].sort((a, b) => a - b);
        const at = (q: number) => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] ?? 0;
        return { median: at(0.5), p90: at(0.9) };
      };
      const k = stats(timings.known);
      const u = stats(timings.unknown);
      console.info(
        `login timing over ${tries} tries each: known email median ${k.median.toFixed(1)} ms (p90 ${k.p90.toFixed(1)}), ` +
          `unknown email median ${u.median.toFixed(1)} ms (p90 ${u.p90.toFixed(1)}); ` +
          `difference of medians ${(k.median - u.median).toFixed(1)} ms`,
      );
      expect(timings.known).toHaveLength(tries);
      expect(timings.unknown).toHaveLength(tries);
    });
  });

  it("no secret tried or issued under attack reaches the logs", async () => {
    const lines: string[] = [];
    const capture = (...args: unknown[]) => lines.push(args.map(String).join(" "));
    const spies = (["log", "info", "warn", "error", "debug"] as const).map((level) =>
      vi.spyOn(console, level).mockImplementation(capture),
    );
    const secrets: string[] = [
      viewerKey,
      f.users.admin.token,
      env.JWT_SECRET,
      env.MASTER_KEY,
      env.DATABASE_URL,
    ];
    try {
      const guessed = `uk_${f.tenant.slug}_${"Z".repeat(40)}`;
      const forged = `${f.users.admin.token.slice(0, -4)}AAAA`;
      const password = `pw-guess-${crypto.randomUUID()}`;
      const credential = `'; DROP TABLE credentials; -- ${crypto.randomUUID()}`;
      const invitation = `inv-guess-${crypto.randomUUID()}`;
      secrets.push(guessed, forged, password, credential, invitation);
      const ip = "198.19.0.7";
      await expectHandled(
        await attack.send("/api/v1/members", { headers: { "x-api-key": guessed, "cf-connecting-ip": ip } }),
        "guess",
      );
      await expectHandled(await attack.send("/api/v1/members", { headers: bearer(forged) }), "forged");
      await expectHandled(
        await attack.send("/api/v1/members", { headers: { "x-api-key": viewerKey } }),
        "real key",
      );
      await expectHandled(
        await attack.send(
          "/api/v1/auth/login",
          jsonInit("POST", { email: f.users.admin.email, password }, { "cf-connecting-ip": ip }),
        ),
        "login",
      );
      await expectHandled(
        await attack.send(
          "/api/v1/invitations/accept",
          jsonInit("POST", { token: invitation, password }, { "cf-connecting-ip": ip }),
        ),
        "accept",
      );
      const stored = await attack.send(
        "/api/v1/credentials",
        jsonInit(
          "POST",
          { name: `log-${crypto.randomUUID()}`, kind: "password", value: credential },
          bearer(f.users.admin.token),
        ),
      );
      expect(stored.status).toBe(201);
      const { id } = (await stored.json()) as { id: string };
      const revealed = await attack.send(`/api/v1/credentials/${id}/reveal`, {
        method: "POST",
        headers: bearer(f.users.admin.token),
      });
      expect(((await revealed.json()) as { value: string }).value).toBe(credential);
      await new Promise((r) => setTimeout(r, 50));
    } finally {
      for (const spy of spies) spy.mockRestore();
    }
    expect(lines.filter((l) => l.includes('"msg":"request"')).length).toBeGreaterThanOrEqual(7);
    const all = lines.join("\n");
    for (const secret of secrets) expect(all.includes(secret), `leaked: ${secret.slice(0, 12)}…`).toBe(false);
  });
});
