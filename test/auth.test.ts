import { env } from "cloudflare:workers";
import { importJWK, SignJWT } from "jose";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { clock } from "../src/lib/clock";
import { utf8 } from "../src/lib/encoding";
import { hashPassword } from "../src/lib/passwords";
import { pools } from "./support/db";
import {
  addMember,
  api,
  bearer,
  createTenant,
  createUser,
  jsonInit,
  type TestUser,
  tokenFor,
} from "./support/fixtures";
import { expectProblem } from "./support/problems";

const PASSWORD = "correct horse battery staple";

interface Session {
  access_token: string;
  token_type: string;
  expires_in: number;
  tenant: { id: string; slug: string; role: string | null } | null;
  memberships: { tenant_id: string; tenant_slug: string; role: string }[];
}

describe("authentication", () => {
  const db = pools();
  let user: TestUser;
  let tenantA: { id: string; slug: string };
  let tenantB: { id: string; slug: string };

  beforeAll(async () => {
    tenantA = await createTenant(db.admin);
    tenantB = await createTenant(db.admin);
    user = await createUser(db.admin, { passwordHash: await hashPassword(PASSWORD) });
    await addMember(db.admin, tenantA, user, "admin");
    await addMember(db.admin, tenantB, user, "viewer");
  });

  afterEach(() => {
    clock.offsetMs = 0;
  });

  afterAll(() => db.end());

  const login = (body: unknown) => api("/api/v1/auth/login", jsonInit("POST", body));

  describe("POST /api/v1/auth/login", () => {
    it("issues a 1-hour bearer token for the user's first tenant, with memberships", async () => {
      const res = await login({ email: user.email.toUpperCase(), password: PASSWORD });
      expect(res.status).toBe(200);
      const session = (await res.json()) as Session;
      expect(session).toMatchObject({ token_type: "Bearer", expires_in: 3600 });
      expect(session.tenant).toMatchObject({ id: tenantA.id, slug: tenantA.slug, role: "admin" });
      expect(session.memberships.map((m) => [m.tenant_slug, m.role])).toEqual([
        [tenantA.slug, "admin"],
        [tenantB.slug, "viewer"],
      ]);
      const me = await api("/api/v1/me", { headers: bearer(session.access_token) });
      expect(await me.json()).toMatchObject({
        auth: "jwt",
        user: { id: user.id },
        tenant: { id: tenantA.id },
        role: "admin",
      });
    });

    it("logs into a requested tenant by slug", async () => {
      const session = (await (
        await login({ email: user.email, password: PASSWORD, tenant: tenantB.slug })
      ).json()) as Session;
      expect(session.tenant).toMatchObject({ id: tenantB.id, role: "viewer" });
    });

    it("answers unknown email and wrong password identically", async () => {
      const wrong = await login({ email: user.email, password: "not the password" });
      const unknown = await login({ email: "nobody@example.test", password: "not the password" });
      const a = await expectProblem(wrong, 401, "unauthenticated");
      const b = await expectProblem(unknown, 401, "unauthenticated");
      expect({ ...a, request_id: "" }).toEqual({ ...b, request_id: "" });
    });

    it("403 for a tenant the user does not belong to", async () => {
      const other = await createTenant(db.admin);
      await expectProblem(
        await login({ email: user.email, password: PASSWORD, tenant: other.slug }),
        403,
        "forbidden",
      );
    });

    it("400 validation_failed for a malformed body, with field errors", async () => {
      const res = await login({ email: "not-an-email", password: "" });
      const body = await expectProblem(res, 400, "validation_failed");
      expect(body.errors?.map((e) => e.path).sort()).toEqual(["email", "password"]);
    });
  });

  describe("POST /api/v1/auth/switch", () => {
    it("issues a token for another tenant of the user", async () => {
      const token = await tokenFor(user, tenantA);
      const res = await api("/api/v1/auth/switch", jsonInit("POST", { tenant: tenantB.id }, bearer(token)));
      expect(res.status).toBe(200);
      const session = (await res.json()) as Session;
      expect(session.tenant).toMatchObject({ id: tenantB.id, role: "viewer" });
      const members = await api("/api/v1/members", { headers: bearer(session.access_token) });
      expect(members.status).toBe(200);
    });

    it("refuses a tenant the user is not a member of", async () => {
      const other = await createTenant(db.admin);
      const res = await api(
        "/api/v1/auth/switch",
        jsonInit("POST", { tenant: other.slug }, bearer(await tokenFor(user, tenantA))),
      );
      await expectProblem(res, 403, "forbidden");
    });
  });

  describe("bearer tokens", () => {
    const secret = () => utf8(env.JWT_SECRET);
    const baseClaims = () => ({
      sub: user.id,
      tenant_id: tenantA.id,
      tenant_slug: tenantA.slug,
      is_system_admin: false,
    });
    const sign = (claims: Record<string, unknown>, key: Uint8Array = secret()) =>
      new SignJWT(claims).setProtectedHeader({ alg: "HS256" }).sign(key);
    const call = (token: string) => api("/api/v1/members", { headers: bearer(token) });

    it("accepts a well-formed token", async () => {
      const now = Math.floor(Date.now() / 1000);
      const token = await sign({
        ...baseClaims(),
        iss: env.JWT_ISSUER,
        aud: env.JWT_AUDIENCE,
        iat: now,
        exp: now + 600,
      });
      expect((await call(token)).status).toBe(200);
    });

    it("401 unauthenticated without a credential", async () => {
      const res = await api("/api/v1/members");
      await expectProblem(res, 401, "unauthenticated");
      expect(res.headers.get("www-authenticate")).toContain("Bearer");
    });

    const now = () => Math.floor(Date.now() / 1000);
    const cases: [string, () => Promise<string>][] = [
      [
        "expired",
        () =>
          sign({
            ...baseClaims(),
            iss: env.JWT_ISSUER,
            aud: env.JWT_AUDIENCE,
            iat: now() - 4000,
            exp: now() - 600,
          }),
      ],
      [
        "wrong secret",
        () =>
          sign(
            { ...baseClaims(), iss: env.JWT_ISSUER, aud: env.JWT_AUDIENCE, iat: now(), exp: now() + 600 },
            utf8("x".repeat(40)),
          ),
      ],
      [
        "wrong audience",
        () =>
          sign({ ...baseClaims(), iss: env.JWT_ISSUER, aud: "someone-else", iat: now(), exp: now() + 600 }),
      ],
      [
        "wrong issuer",
        () => sign({ ...baseClaims(), iss: "evil", aud: env.JWT_AUDIENCE, iat: now(), exp: now() + 600 }),
      ],
      [
        "lifetime over 1 hour",
        () =>
          sign({
            ...baseClaims(),
            iss: env.JWT_ISSUER,
            aud: env.JWT_AUDIENCE,
            iat: now(),
            exp: now() + 7200,
          }),
      ],
      [
        "not yet valid",
        () =>
          sign({
            ...baseClaims(),
            iss: env.JWT_ISSUER,
            aud: env.JWT_AUDIENCE,
            iat: now(),
            nbf: now() + 600,
            exp: now() + 900,
          }),
      ],
      [
        "no sub",
        () =>
          sign({
            tenant_id: tenantA.id,
            iss: env.JWT_ISSUER,
            aud: env.JWT_AUDIENCE,
            iat: now(),
            exp: now() + 600,
          }),
      ],
      [
        "tampered payload",
        async () => {
          const token = await sign({
            ...baseClaims(),
            iss: env.JWT_ISSUER,
            aud: env.JWT_AUDIENCE,
            iat: now(),
            exp: now() + 600,
          });
          const [h, p, s] = token.split(".") as [string, string, string];
          const claims = JSON.parse(atob(p.replaceAll("-", "+").replaceAll("_", "/")));
          claims.tenant_id = tenantB.id;
          const forged = btoa(JSON.stringify(claims))
            .replaceAll("+", "-")
            .replaceAll("/", "_")
            .replace(/=+$/, "");
          return `${h}.${forged}.${s}`;
        },
      ],
      [
        "alg none",
        async () => {
          const enc = (o: unknown) => btoa(JSON.stringify(o)).replaceAll("=", "");
          return `${enc({ alg: "none", typ: "JWT" })}.${enc({ ...baseClaims(), iss: env.JWT_ISSUER, aud: env.JWT_AUDIENCE, iat: now(), exp: now() + 600 })}.`;
        },
      ],
      ["garbage", async () => "not.a.jwt"],
      ["oversized", async () => `${"a".repeat(9000)}.b.c`],
    ];
    for (const [name, make] of cases) {
      it(`401 invalid_token: ${name}`, async () => {
        await expectProblem(await call(await make()), 401, "invalid_token");
      });
    }

    it("tokens of our own expire after one hour (30 s skew)", async () => {
      const token = await tokenFor(user, tenantA);
      clock.offsetMs = 3600_000 + 20_000;
      expect((await call(token)).status).toBe(200);
      clock.offsetMs = 3600_000 + 40_000;
      await expectProblem(await call(token), 401, "invalid_token");
    });

    it("a token of a deleted user stops working", async () => {
      const gone = await createUser(db.admin);
      await addMember(db.admin, tenantA, gone, "viewer");
      const token = await tokenFor(gone, tenantA);
      await db.admin.query("delete from users where id = $1", [gone.id]);
      await expectProblem(await call(token), 401, "invalid_token");
    });

    it("a non-Bearer Authorization header is invalid_token", async () => {
      const res = await api("/api/v1/members", { headers: { authorization: "Basic dXNlcjpwYXNz" } });
      await expectProblem(res, 401, "invalid_token");
    });
  });

  describe("external IdP tokens through JWKS_URL", () => {
    const keys = () =>
      JSON.parse(env.TEST_JWKS_PRIVATE_KEYS) as Record<"rsa" | "ec", { kid: string; alg: string }>;

    async function signExternal(which: "rsa" | "ec", claims: Record<string, unknown>) {
      const jwk = keys()[which];
      const key = await importJWK(jwk, jwk.alg);
      const now = Math.floor(Date.now() / 1000);
      return new SignJWT({ sub: user.id, tenant_id: tenantA.id, tenant_slug: tenantA.slug, ...claims })
        .setProtectedHeader({ alg: jwk.alg, kid: jwk.kid })
        .setIssuer(env.JWT_ISSUER)
        .setAudience(env.JWT_AUDIENCE)
        .setIssuedAt(now)
        .setExpirationTime(now + 600)
        .sign(key);
    }

    it("accepts RS256 and ES256 tokens signed by the IdP's keys", async () => {
      for (const which of ["rsa", "ec"] as const) {
        const res = await api("/api/v1/members", { headers: bearer(await signExternal(which, {})) });
        expect(res.status, which).toBe(200);
      }
    });

    it("refuses an RS256 token whose kid is unknown", async () => {
      const jwk = keys().rsa;
      const key = await importJWK(jwk, "RS256");
      const now = Math.floor(Date.now() / 1000);
      const token = await new SignJWT({ sub: user.id })
        .setProtectedHeader({ alg: "RS256", kid: "unknown-kid" })
        .setIssuer(env.JWT_ISSUER)
        .setAudience(env.JWT_AUDIENCE)
        .setIssuedAt(now)
        .setExpirationTime(now + 600)
        .sign(key);
      await expectProblem(await api("/api/v1/members", { headers: bearer(token) }), 401, "invalid_token");
    });

    it("refuses HS/RS confusion: an HS256 token signed with the IdP's public key", async () => {
      const publicKey = await (await fetch(env.JWKS_URL as string)).text();
      const now = Math.floor(Date.now() / 1000);
      const token = await new SignJWT({ sub: user.id, tenant_id: tenantA.id })
        .setProtectedHeader({ alg: "HS256", kid: "rsa-1" })
        .setIssuer(env.JWT_ISSUER)
        .setAudience(env.JWT_AUDIENCE)
        .setIssuedAt(now)
        .setExpirationTime(now + 600)
        .sign(utf8(publicKey));
      await expectProblem(await api("/api/v1/members", { headers: bearer(token) }), 401, "invalid_token");
    });
  });
});
