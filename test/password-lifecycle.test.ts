import { env } from "cloudflare:workers";
import { importJWK, SignJWT } from "jose";
import { afterAll, describe, expect, it } from "vitest";
import { hashPassword } from "../src/lib/passwords";
import { pools } from "./support/db";
import { api, bearer, createTenant, createUser, jsonInit, type TestUser, tokenFor } from "./support/fixtures";
import { systemAdminHeaders } from "./support/populated-tenant";
import { expectProblem } from "./support/problems";

/**
 * Passwords with a lifecycle and tokens that can be revoked: the policy wherever a password
 * is set, temporary passwords that expire and must be changed, `ver` in every token so that
 * a password change or logout-all ends every earlier token, and rehashing at sign-in.
 */
describe("passwords and revocable tokens", () => {
  const db = pools();
  afterAll(() => db.end());
  let ips = 0;
  const ip = () => ({ "cf-connecting-ip": `203.0.113.${(ips++ % 250) + 1}` });

  const login = (email: string, password: string, tenant?: string) =>
    api("/api/v1/auth/login", jsonInit("POST", { email, password, tenant }, ip()));

  async function signedIn(email: string, password: string) {
    const res = await login(email, password);
    expect(res.status, await res.clone().text()).toBe(200);
    return (await res.json()) as { access_token: string; password_change_required: boolean };
  }

  async function userWithPassword(password: string): Promise<TestUser> {
    return createUser(db.admin, { passwordHash: await hashPassword(password) });
  }

  const changePassword = (token: string, body: Record<string, unknown>) =>
    api("/api/v1/auth/password", jsonInit("POST", body, { ...bearer(token), ...ip() }));

  describe("POST /auth/password", () => {
    it("changes the password: the old one and every earlier token stop working", async () => {
      const user = await userWithPassword("the first password");
      const first = await signedIn(user.email, "the first password");
      const second = await signedIn(user.email, "the first password");
      const res = await changePassword(first.access_token, {
        current_password: "the first password",
        new_password: "a brand new passphrase",
      });
      expect(res.status, await res.clone().text()).toBe(204);
      for (const token of [first.access_token, second.access_token]) {
        await expectProblem(await api("/api/v1/me", { headers: bearer(token) }), 401, "invalid_token");
      }
      await expectProblem(await login(user.email, "the first password"), 401, "unauthenticated");
      const fresh = await signedIn(user.email, "a brand new passphrase");
      expect((await api("/api/v1/me", { headers: bearer(fresh.access_token) })).status).toBe(200);
      const audit = await db.admin.query(
        "select 1 from audit_events where action = 'user.password_changed' and target_id = $1",
        [user.id],
      );
      expect(audit.rowCount).toBe(1);
    });

    it("a wrong current password is 401 and changes nothing", async () => {
      const user = await userWithPassword("my current password");
      const { access_token } = await signedIn(user.email, "my current password");
      await expectProblem(
        await changePassword(access_token, { current_password: "not it", new_password: "whatever new one" }),
        401,
        "unauthenticated",
      );
      expect((await login(user.email, "my current password")).status).toBe(200);
    });

    it("the policy: 12–256 characters, not the email, not a common password, not the current one", async () => {
      const user = await userWithPassword("my current password");
      const { access_token } = await signedIn(user.email, "my current password");
      const cases: Array<[string, string]> = [
        ["short", "too_small"],
        ["x".repeat(257), "too_big"],
        [user.email.toUpperCase(), "password_is_email"],
        [user.email.split("@")[0] as string, "password_is_email"],
        ["1q2w3e4r5t6y", "password_too_common"],
        ["my current password", "password_reused"],
      ];
      for (const [candidate, code] of cases) {
        const problem = await expectProblem(
          await changePassword(access_token, {
            current_password: "my current password",
            new_password: candidate,
          }),
          400,
          "validation_failed",
        );
        expect(problem.errors?.[0], candidate).toMatchObject({ path: "new_password", code });
      }
    });

    it("an API key has no password to change", async () => {
      const sys = await systemAdminHeaders(db.admin);
      const tenant = await createTenant(db.admin, { plan: "pro" });
      const created = await api(
        "/api/v1/api-keys",
        jsonInit("POST", { name: "k", role: "admin" }, { ...sys, "x-tenant-id": tenant.id }),
      );
      const { key } = (await created.json()) as { key: string };
      await expectProblem(
        await api(
          "/api/v1/auth/password",
          jsonInit("POST", { current_password: "a", new_password: "b" }, { "x-api-key": key }),
        ),
        403,
        "forbidden",
      );
    });
  });

  describe("temporary passwords", () => {
    async function tenantWithNewAdmin() {
      const sys = await systemAdminHeaders(db.admin);
      const slug = `tmp${crypto.randomUUID().slice(0, 8)}`;
      const res = await api(
        "/api/v1/tenants",
        jsonInit("POST", { name: slug, slug, admin_email: `${slug}@example.test` }, sys),
      );
      expect(res.status, await res.clone().text()).toBe(201);
      const body = (await res.json()) as {
        tenant: { id: string };
        admin: { user_id: string; email: string; temporary_password: string };
      };
      return { tenantId: body.tenant.id, ...body.admin };
    }

    it("sign in with one → a token only /me, /auth/password and /auth/logout-all accept, until changed", async () => {
      const admin = await tenantWithNewAdmin();
      const session = await signedIn(admin.email, admin.temporary_password);
      expect(session.password_change_required).toBe(true);
      const restricted = bearer(session.access_token);
      const me = await api("/api/v1/me", { headers: restricted });
      expect(me.status).toBe(200);
      expect(
        ((await me.json()) as { user: { must_change_password: boolean } }).user.must_change_password,
      ).toBe(true);
      await expectProblem(
        await api("/api/v1/members", { headers: restricted }),
        403,
        "password_change_required",
      );
      await expectProblem(
        await api("/api/v1/auth/switch", jsonInit("POST", { tenant: admin.tenantId }, restricted)),
        403,
        "password_change_required",
      );
      expect(
        (
          await changePassword(session.access_token, {
            current_password: admin.temporary_password,
            new_password: "my own chosen passphrase",
          })
        ).status,
      ).toBe(204);
      await expectProblem(await api("/api/v1/me", { headers: restricted }), 401, "invalid_token");
      const after = await signedIn(admin.email, "my own chosen passphrase");
      expect(after.password_change_required).toBe(false);
      expect((await api("/api/v1/members", { headers: bearer(after.access_token) })).status).toBe(200);
    });

    it("expires after 7 days: then even the right temporary password is refused", async () => {
      const admin = await tenantWithNewAdmin();
      const { rows } = await db.admin.query<{ days: number }>(
        "select round(extract(epoch from password_expires_at - now()) / 86400)::int as days from users where id = $1",
        [admin.user_id],
      );
      expect(rows[0]?.days).toBe(7);
      await db.admin.query(
        "update users set password_expires_at = now() - interval '1 second' where id = $1",
        [admin.user_id],
      );
      const problem = await expectProblem(
        await login(admin.email, admin.temporary_password),
        401,
        "unauthenticated",
      );
      expect(problem.detail).toMatch(/expired/);
    });
  });

  describe("revocation", () => {
    it("logout-all ends every token of the user, and sign-in works again", async () => {
      const user = await userWithPassword("a password to keep");
      const a = await signedIn(user.email, "a password to keep");
      const b = await signedIn(user.email, "a password to keep");
      const res = await api("/api/v1/auth/logout-all", { method: "POST", headers: bearer(a.access_token) });
      expect(res.status).toBe(204);
      for (const token of [a.access_token, b.access_token]) {
        await expectProblem(await api("/api/v1/me", { headers: bearer(token) }), 401, "invalid_token");
      }
      const again = await signedIn(user.email, "a password to keep");
      expect((await api("/api/v1/me", { headers: bearer(again.access_token) })).status).toBe(200);
    });

    it("a token whose version is older than the user's is refused on every kind of route", async () => {
      const tenant = await createTenant(db.admin);
      const user = await createUser(db.admin);
      await db.admin.query(
        "insert into tenant_memberships (tenant_id, user_id, role) values ($1, $2, 'admin')",
        [tenant.id, user.id],
      );
      const old = bearer(await tokenFor(user, tenant));
      await db.admin.query("update users set token_version = 1 where id = $1", [user.id]);
      // Another user id: the in-isolate cache of this user is cold, so the change is seen now.
      await expectProblem(await api("/api/v1/members", { headers: old }), 401, "invalid_token");
      await expectProblem(await api("/api/v1/me", { headers: old }), 401, "invalid_token");
    });

    it("an external IdP's token (no ver) issued before the last logout-all is refused", async () => {
      const user = await createUser(db.admin);
      const jwk = (JSON.parse(env.TEST_JWKS_PRIVATE_KEYS) as Record<"rsa", { kid: string; alg: string }>).rsa;
      const issuedAt = Math.floor(Date.now() / 1000) - 60;
      const token = await new SignJWT({ sub: user.id })
        .setProtectedHeader({ alg: jwk.alg, kid: jwk.kid })
        .setIssuer(env.JWT_ISSUER)
        .setAudience(env.JWT_AUDIENCE)
        .setIssuedAt(issuedAt)
        .setExpirationTime(issuedAt + 600)
        .sign(await importJWK(jwk, jwk.alg));
      await db.admin.query(
        "update users set token_version = token_version + 1, token_version_changed_at = now() where id = $1",
        [user.id],
      );
      await expectProblem(await api("/api/v1/me", { headers: bearer(token) }), 401, "invalid_token");
    });
  });

  it("a hash made with older parameters is upgraded at the next successful sign-in", async () => {
    const legacy = await legacyHash("an old-style password");
    const user = await createUser(db.admin, { passwordHash: legacy });
    await signedIn(user.email, "an old-style password");
    let stored = legacy;
    for (let i = 0; i < 50 && stored === legacy; i++) {
      await new Promise((resolve) => setTimeout(resolve, 100));
      const { rows } = await db.admin.query<{ password_hash: string }>(
        "select password_hash from users where id = $1",
        [user.id],
      );
      stored = rows[0]?.password_hash ?? legacy;
    }
    expect(stored).not.toBe(legacy);
    expect(stored.startsWith("$argon2id$v=19$m=19456,t=2,p=1$")).toBe(true);
    await signedIn(user.email, "an old-style password");
  });
});

/** A PBKDF2-SHA256 hash at 1,000 iterations: what an older version of the product might have stored. */
async function legacyHash(password: string): Promise<string> {
  const salt = crypto.getRandomValues(new Uint8Array(16));
  const key = await crypto.subtle.importKey("raw", new TextEncoder().encode(password), "PBKDF2", false, [
    "deriveBits",
  ]);
  const bits = await crypto.subtle.deriveBits(
    { name: "PBKDF2", hash: "SHA-256", salt, iterations: 1000 },
    key,
    256,
  );
  const b64 = (bytes: Uint8Array) => btoa(String.fromCharCode(...bytes));
  return `pbkdf2-sha256$1000$${b64(salt)}$${b64(new Uint8Array(bits))}`;
}
