import { env } from "cloudflare:workers";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { friendly } from "../src/console/messages";
import { clock } from "../src/lib/clock";
import { hashPassword } from "../src/lib/passwords";
import { PROBLEM_CODES, type ProblemCode } from "../src/lib/problem";
import { utcDay } from "../src/services/platform/usage-counters";
import { CONSOLE_COOKIE as COOKIE, ConsoleBrowser } from "./support/console-browser";
import { pools, uniqueSlug } from "./support/db";
import {
  addMember,
  api,
  bearer,
  createTenant,
  createUser,
  jsonInit,
  type TestTenant,
  type TestUser,
} from "./support/fixtures";
import { systemAdminHeaders } from "./support/populated-tenant";
import { expectProblem } from "./support/problems";

/**
 * The console's server side through the Worker's real fetch entry: session cookie, CSRF,
 * sign-in, and that every page inherits the API's rules (RBAC, isolation, quotas, rate
 * limits) with friendly messages. The browser flows are in test/stack/console.test.ts.
 */
const PASSWORD = "console password 123";
const admin = () => ({ email: env.TEST_ADMIN_EMAIL, password: env.TEST_ADMIN_PASSWORD });

describe("admin console", () => {
  const db = pools();
  let tenant: TestTenant;
  let other: TestTenant;
  let tenantAdmin: TestUser;
  let viewer: TestUser;

  beforeAll(async () => {
    tenant = await createTenant(db.admin);
    other = await createTenant(db.admin);
    const passwordHash = await hashPassword(PASSWORD);
    tenantAdmin = await createUser(db.admin, { passwordHash });
    viewer = await createUser(db.admin, { passwordHash });
    await addMember(db.admin, tenant, tenantAdmin, "admin");
    await addMember(db.admin, tenant, viewer, "viewer");
  });

  afterEach(() => {
    clock.offsetMs = 0;
  });
  afterAll(() => db.end());

  describe("session and CSRF", () => {
    it("serves the sign-in page with a __Host- session cookie: HttpOnly, Secure, SameSite=Strict", async () => {
      const res = await api("/console");
      expect(res.status).toBe(200);
      expect(res.headers.get("content-type")).toContain("text/html");
      expect(res.headers.get("cache-control")).toBe("no-store");
      expect(res.headers.get("content-security-policy")).toContain("script-src 'self'");
      expect(res.headers.get("x-frame-options")).toBe("DENY");
      const cookie = res.headers.get("set-cookie") ?? "";
      expect(cookie).toMatch(new RegExp(`^${COOKIE}=`));
      expect(cookie).toContain("HttpOnly");
      expect(cookie).toContain("Secure");
      expect(cookie).toContain("SameSite=Strict");
      expect(cookie).toContain("Path=/");
      const html = await res.text();
      expect(html).toMatch(/^<!doctype html>/);
      expect(html).toContain('<label for="email">Email</label>');
    });

    it("refuses posts without the session's token (403 page, not the API's 415)", async () => {
      const browser = new ConsoleBrowser();
      await browser.get("/console");
      const form = admin();
      for (const csrf of [null, "", "forged-token-forged-token-forged-token"]) {
        const res = await browser.post("/console/sign-in", form, { csrf });
        expect(res.status).toBe(403);
        expect(await res.text()).toContain("This form has expired or did not come from the console.");
      }
      const crossSite = await api("/console/sign-in", {
        method: "POST",
        headers: {
          cookie: browser.cookie,
          "sec-fetch-site": "cross-site",
          "content-type": "application/x-www-form-urlencoded",
        },
        body: new URLSearchParams({ ...form, _csrf: browser.csrf }).toString(),
        redirect: "manual",
      });
      expect(crossSite.status).toBe(403);
    });

    it("a token from another session is worthless, and a tampered cookie starts a new session", async () => {
      const alice = new ConsoleBrowser();
      const mallory = new ConsoleBrowser();
      await alice.get("/console");
      await mallory.get("/console");
      expect(alice.csrf).not.toBe(mallory.csrf);
      const res = await alice.post("/console/sign-in", admin(), { csrf: mallory.csrf });
      expect(res.status).toBe(403);

      const tampered = new ConsoleBrowser();
      tampered.cookie = alice.cookie.replace(/%22csrf%22%3A%22./, "%22csrf%22%3A%22Z");
      const fresh = await tampered.get("/console");
      expect(fresh.headers.get("set-cookie")).toMatch(new RegExp(`^${COOKIE}=`));
      expect(tampered.csrf).not.toBe(alice.csrf);
    });

    it("signs a system admin in, rotating the token, and lands on the tenant list", async () => {
      const browser = new ConsoleBrowser();
      await browser.get("/console");
      const before = browser.csrf;
      const res = await browser.post("/console/sign-in", admin());
      expect(res.status).toBe(303);
      expect(res.headers.get("location")).toBe("/console/tenants");
      // The session cookie lives exactly as long as the access token (one hour).
      const maxAge = Number(/Max-Age=(\d+)/.exec(res.headers.get("set-cookie") ?? "")?.[1]);
      expect(maxAge).toBeGreaterThan(3590);
      expect(maxAge).toBeLessThanOrEqual(3600);
      const list = await browser.get(`/console/tenants?q=${tenant.slug}`);
      expect(list.status).toBe(200);
      expect(browser.csrf).not.toBe(before);
      const html = await list.text();
      expect(html).toContain(`data-tenant="${tenant.slug}"`);
      // Usage against the free plan's quotas: the admin and the viewer of 5 seats.
      expect(html).toMatch(/data-quota="members">.*?aria-label="Members: 2 of 5".*?2 \/ 5/);
    });

    it("says a wrong password plainly, and follows only console paths after sign-in", async () => {
      const browser = new ConsoleBrowser();
      await browser.get("/console");
      const wrong = await browser.post("/console/sign-in", { email: tenantAdmin.email, password: "nope" });
      expect(wrong.status).toBe(401);
      expect(await wrong.text()).toContain("The email or password is not right.");

      for (const next of ["https://evil.example/", "//evil.example/console/", "/api/v1/me"]) {
        const elsewhere = new ConsoleBrowser();
        await elsewhere.get("/console");
        const res = await elsewhere.post("/console/sign-in", { ...login(tenantAdmin), next });
        expect(res.headers.get("location"), next).toBe(`/console/tenants/${tenant.slug}`);
      }
      const res = await browser.post("/console/sign-in", {
        ...login(tenantAdmin),
        next: "/console/no-tenant",
      });
      expect(res.headers.get("location")).toBe("/console/no-tenant");
    });

    it("sends an expired session back to sign-in, keeping where it was going", async () => {
      const browser = new ConsoleBrowser();
      await browser.signIn(tenantAdmin.email, PASSWORD);
      clock.offsetMs = 3_601_000;
      const res = await browser.get(`/console/tenants/${tenant.slug}`);
      expect(res.status).toBe(303);
      expect(res.headers.get("location")).toBe(
        `/console?next=${encodeURIComponent(`/console/tenants/${tenant.slug}`)}&notice=expired`,
      );
      const page = await browser.get(res.headers.get("location") ?? "");
      expect(await page.text()).toContain("Your session expired.");
    });

    it("signs out", async () => {
      const browser = new ConsoleBrowser();
      await browser.signIn(tenantAdmin.email, PASSWORD);
      const res = await browser.post("/console/sign-out", {});
      expect(res.status).toBe(303);
      expect(browser.cookie).toBe("");
      expect((await browser.get(`/console/tenants/${tenant.slug}`)).status).toBe(303);
    });

    it("sign-out revokes the session's token at the API, not only in this browser", async () => {
      const browser = new ConsoleBrowser();
      await browser.signIn(tenantAdmin.email, PASSWORD);
      const token = sessionToken(browser);
      expect((await api("/api/v1/me", { headers: bearer(token) })).status).toBe(200);
      await browser.post("/console/sign-out", {});
      await expectProblem(await api("/api/v1/me", { headers: bearer(token) }), 401, "invalid_token");
    });
  });

  describe("password", () => {
    it("a temporary password leads to the change-password page; the change signs in afresh and revokes the old token", async () => {
      const slug = uniqueSlug("pw");
      const created = await api(
        "/api/v1/tenants",
        jsonInit(
          "POST",
          { name: "Temporary", slug, admin_email: `${slug}@example.test` },
          await systemAdminHeaders(db.admin),
        ),
      );
      expect(created.status).toBe(201);
      const { admin: owner } = (await created.json()) as {
        admin: { email: string; temporary_password: string };
      };
      const toPasswordPage = "/console/password?notice=password_change_required";

      const browser = new ConsoleBrowser();
      await browser.get("/console");
      const signedIn = await browser.post("/console/sign-in", {
        email: owner.email,
        password: owner.temporary_password,
        next: `/console/tenants/${slug}`,
      });
      expect(signedIn.headers.get("location")).toBe(toPasswordPage);
      const firstToken = sessionToken(browser);
      // Any page whose API call is refused with password_change_required goes there too.
      const elsewhere = await browser.get(`/console/tenants/${slug}`);
      expect(elsewhere.status).toBe(303);
      expect(elsewhere.headers.get("location")).toBe(toPasswordPage);

      const form = await browser.get(toPasswordPage);
      expect(form.status).toBe(200);
      const html = await form.text();
      expect(html).toContain("You signed in with a temporary password. Choose a new password to continue.");
      expect(html).toContain('href="/console/password" aria-current="page">Change password</a>');
      expect(html).toMatch(/name="current_password" type="password" autocomplete="current-password"/);
      expect(html).toMatch(/name="new_password" type="password" autocomplete="new-password"/);
      expect(html).toMatch(/name="confirm_password" type="password" autocomplete="new-password"/);
      expect(html).toContain("12–256 characters, not your email address, not a common password.");

      const change = (current: string, chosen: string, confirm = chosen) =>
        browser.post("/console/password", {
          current_password: current,
          new_password: chosen,
          confirm_password: confirm,
        });
      const refusals = [
        {
          sent: ["weak pass"],
          status: 400,
          error: "new_password-error",
          says: "Must be 12–256 characters long",
        },
        {
          sent: ["qwerty123456"],
          status: 400,
          error: "new_password-error",
          says: "Is one of the most common",
        },
        {
          sent: ["a long enough password 1", "a long enough password 2"],
          status: 400,
          error: "confirm_password-error",
          says: "Does not match the new password",
        },
      ];
      for (const { sent, status, error, says } of refusals) {
        const [chosen = "", confirm] = sent;
        const res = await change(owner.temporary_password, chosen, confirm);
        expect(res.status, says).toBe(status);
        const page = await res.text();
        expect(page).toMatch(new RegExp(`id="${error}" class="error-text">${says}`));
        // Nothing typed comes back into the page.
        for (const secret of [...sent, owner.temporary_password]) expect(page).not.toContain(secret);
      }
      const wrong = await change("not the temporary password", "a long enough password 1");
      expect(wrong.status).toBe(401);
      expect(await wrong.text()).toContain('id="current_password-error" class="error-text">Is not right');
      expect(sessionToken(browser)).toBe(firstToken);

      const chosen = `chosen ${crypto.randomUUID()}`;
      const changed = await change(owner.temporary_password, chosen);
      expect(changed.status).toBe(303);
      const landing = `/console/tenants/${slug}?notice=password_changed`;
      expect(changed.headers.get("location")).toBe(landing);
      const page = await browser.get(landing);
      expect(page.status).toBe(200);
      expect(await page.text()).toContain("Password changed.");
      const secondToken = sessionToken(browser);
      expect(secondToken).not.toBe(firstToken);
      expect((await api("/api/v1/me", { headers: bearer(secondToken) })).status).toBe(200);
      await expectProblem(await api("/api/v1/me", { headers: bearer(firstToken) }), 401, "invalid_token");
    });
  });

  describe("lifecycle", () => {
    it("deletes a tenant and restores it, each after a confirmation page", async () => {
      const doomed = await createTenant(db.admin);
      const browser = new ConsoleBrowser();
      await browser.signIn(admin().email, admin().password);
      const page = `/console/tenants/${doomed.slug}`;

      const confirm = await browser.get(`${page}/actions/delete`);
      expect(confirm.status).toBe(200);
      expect(await confirm.text()).toContain(`Delete ${doomed.slug}?`);
      const deleted = await browser.post(`${page}/actions/delete`, {});
      expect(deleted.status).toBe(303);
      expect(deleted.headers.get("location")).toBe(`${page}?notice=deleted`);
      const gone = await (await browser.get(`${page}?notice=deleted`)).text();
      expect(gone).toContain("Tenant deleted. It can be restored until its purge date.");
      expect(gone).toContain("purged after");
      expect(gone).toContain(`href="${page}/actions/restore"`);

      await browser.get(`${page}/actions/restore`);
      const restored = await browser.post(`${page}/actions/restore`, {});
      expect(restored.headers.get("location")).toBe(`${page}?notice=restored`);
      const { rows } = await db.admin.query("select status from tenants where id = $1", [doomed.id]);
      expect(rows[0]?.status).toBe("active");
    });

    it("refuses to delete the default tenant with the API's reason", async () => {
      const browser = new ConsoleBrowser();
      await browser.signIn(admin().email, admin().password);
      await browser.get("/console/tenants/default/actions/delete");
      const res = await browser.post("/console/tenants/default/actions/delete", {});
      expect(res.status).toBe(409);
      expect(await res.text()).toContain("The default tenant cannot be deleted.");
    });
  });

  describe("the API's rules, unchanged", () => {
    it("a tenant admin sees their tenant, with the hour's API budget", async () => {
      const browser = new ConsoleBrowser();
      await browser.signIn(tenantAdmin.email, PASSWORD);
      const res = await browser.get(`/console/tenants/${tenant.slug}`);
      expect(res.status).toBe(200);
      const html = await res.text();
      expect(html).toContain(tenantAdmin.email);
      expect(html).toMatch(/API budget this hour: [\d,]+ of 1,000 calls left/);
      // Where its rows live (issue 22): a shared tenant is in the control database's region.
      expect(html).toContain("shared database in us-east");
      expect(html).not.toContain("/actions/suspend");
    });

    it("a tenant admin sees 30 days of API calls as a sparkline, summed up in text; a viewer does not", async () => {
      const day = utcDay(Date.now() - 2 * 86_400_000);
      await db.admin.query(
        `insert into usage_daily (tenant_id, day, api_calls_2xx, api_calls_4xx) values ($1, $2, 1200, 34)
         on conflict (tenant_id, day) do update set api_calls_2xx = 1200, api_calls_4xx = 34`,
        [tenant.id, day],
      );
      const browser = new ConsoleBrowser();
      await browser.signIn(tenantAdmin.email, PASSWORD);
      const html = await (await browser.get(`/console/tenants/${tenant.slug}`)).text();
      const svg = /<svg class="sparkline"[^>]*role="img" aria-label="([^"]+)"/.exec(html);
      expect(svg?.[1]).toMatch(
        new RegExp(
          `^API calls per day, [0-9-]{10} to [0-9-]{10} \\(UTC\\): [\\d,]+ in total, at most 1,234 on ${day}`,
        ),
      );
      expect(html).toContain(`<figcaption class="hint">${svg?.[1]}</figcaption>`);
      expect(html.match(/<rect class="day"/g)).toHaveLength(30);
      expect(html).toContain(`<title>${day}: 1,234</title>`);

      const other = new ConsoleBrowser();
      await other.signIn(viewer.email, PASSWORD);
      expect(await (await other.get(`/console/tenants/${tenant.slug}`)).text()).not.toContain(
        'class="sparkline"',
      );
    });

    it("a tenant admin cannot reach another tenant, the tenant list, or lifecycle actions", async () => {
      const browser = new ConsoleBrowser();
      await browser.signIn(tenantAdmin.email, PASSWORD);
      const foreign = await browser.get(`/console/tenants/${other.slug}`);
      expect(foreign.status).toBe(403);
      expect(await foreign.text()).toContain("Your account can only see its own tenant.");
      expect((await browser.get(`/console/tenants/${other.slug}/provisioning`)).status).toBe(403);
      expect((await browser.get("/console/tenants")).status).toBe(403);

      const suspend = await browser.post(`/console/tenants/${tenant.slug}/actions/suspend`, { reason: "x" });
      expect(suspend.status).toBe(403);
      expect(await suspend.text()).toContain("This route is for system admins.");
      const { rows } = await db.admin.query("select status from tenants where id = $1", [tenant.id]);
      expect(rows[0]?.status).toBe("active");
    });

    it("a viewer sees members but is told why API keys and provisioning are hidden", async () => {
      const browser = new ConsoleBrowser();
      await browser.signIn(viewer.email, PASSWORD);
      const res = await browser.get(`/console/tenants/${tenant.slug}`);
      expect(res.status).toBe(200);
      const html = await res.text();
      expect(html).toContain(viewer.email);
      expect(html).toContain("This route needs the admin role in the tenant.");
    });

    it("shows the quota state: a key over the plan's limit is a friendly 429", async () => {
      const browser = new ConsoleBrowser();
      await browser.signIn(tenantAdmin.email, PASSWORD);
      // The free plan allows 2 API keys.
      for (const name of ["one", "two"]) {
        await browser.get(`/console/tenants/${tenant.slug}`);
        const res = await browser.post(`/console/tenants/${tenant.slug}/api-keys`, { name, role: "viewer" });
        expect(res.status).toBe(201);
        expect(await res.text()).toMatch(new RegExp(`uk_${tenant.slug}_[0-9A-Za-z]{32,}`));
      }
      await browser.get(`/console/tenants/${tenant.slug}`);
      const over = await browser.post(`/console/tenants/${tenant.slug}/api-keys`, {
        name: "three",
        role: "viewer",
      });
      expect(over.status).toBe(429);
      const html = await over.text();
      expect(html).toContain("Quota reached");
      expect(html).toContain("The tenant has used 2 of 2 API keys.");
      expect(html).toMatch(/data-quota="api_keys".*?2 \/ 2 \(at limit\)/);
    });

    it("shows the rate-limit state: a spent hourly budget is a friendly 429 page", async () => {
      const limited = await createTenant(db.admin);
      await db.admin.query(`update tenants set quota_overrides = '{"api_calls_per_hour": 3}' where id = $1`, [
        limited.id,
      ]);
      const user = await createUser(db.admin, { passwordHash: await hashPassword(PASSWORD) });
      await addMember(db.admin, limited, user, "admin");
      const browser = new ConsoleBrowser();
      await browser.signIn(user.email, PASSWORD);
      let res = await browser.get(`/console/tenants/${limited.slug}`);
      for (let i = 0; i < 3 && res.status === 200; i++)
        res = await browser.get(`/console/tenants/${limited.slug}`);
      expect(res.status).toBe(429);
      const html = await res.text();
      expect(html).toContain("Slow down");
      expect(html).toMatch(/Too many requests for now\. Try again in \d+ (s|min)\./);
    });
  });

  describe("system status", () => {
    it("a system admin's home shows each check, the job backlog and the configuration warnings", async () => {
      const browser = new ConsoleBrowser();
      const home = await browser.signIn(admin().email, admin().password);
      expect(home.status).toBe(200);
      const html = await home.text();
      expect(html).toContain('<h2 id="system-status-title">System status</h2>');
      expect(html).toContain('data-check="db"><span class="badge succeeded">ok</span>');
      expect(html).toContain('data-check="redis"><span class="badge succeeded">ok</span>');
      expect(html).toContain('data-check="provisioner"><span class="badge succeeded">live</span>');
      expect(html).toMatch(/data-check="queue">[\d,]+ pending · [\d,]+ sent · /);
      expect(html).toContain(
        'data-warning="invitation_delivery_response"><span class="badge pending">warning</span>',
      );
    });

    it("a tenant admin's home has no status panel", async () => {
      const browser = new ConsoleBrowser();
      const home = await browser.signIn(tenantAdmin.email, PASSWORD);
      expect(home.status).toBe(200);
      expect(await home.text()).not.toContain("system-status");
    });
  });

  describe("pages and assets", () => {
    it("answers unknown console paths and actions with an HTML 404", async () => {
      const res = await api("/console/nowhere");
      expect(res.status).toBe(404);
      expect(res.headers.get("content-type")).toContain("text/html");
      const browser = new ConsoleBrowser();
      await browser.signIn(admin().email, admin().password);
      for (const action of ["constructor", "purge"]) {
        expect((await browser.get(`/console/tenants/${tenant.slug}/actions/${action}`)).status).toBe(404);
      }
    });

    it("serves the stylesheet and script under content-hashed, long-cached names", async () => {
      const page = await (await api("/console")).text();
      for (const [pattern, type] of [
        [/href="(\/console\/assets\/console\.[0-9a-f]{8}\.css)"/, "text/css"],
        [/src="(\/console\/assets\/console\.[0-9a-f]{8}\.js)"/, "text/javascript"],
      ] as const) {
        const path = pattern.exec(page)?.[1] ?? "";
        const res = await api(path);
        expect(res.status).toBe(200);
        expect(res.headers.get("content-type")).toContain(type);
        expect(res.headers.get("cache-control")).toContain("immutable");
      }
    });

    it("has a friendly message for every problem code the API can answer with", () => {
      for (const code of Object.keys(PROBLEM_CODES) as ProblemCode[]) {
        const message = friendly({ type: "", title: "", status: 400, detail: "detail", code }, 30);
        expect(message.title.length, code).toBeGreaterThan(0);
        expect(message.message, code).not.toMatch(/undefined|null/);
      }
    });
  });
});

/**
 * The API token the console holds for this browser. The session cookie's value is its JSON
 * (`{csrf, token, email}`) followed by `.` and the HMAC signature, URI-encoded.
 */
function sessionToken(browser: ConsoleBrowser): string {
  const value = decodeURIComponent(browser.cookie.slice(`${COOKIE}=`.length));
  const { token } = JSON.parse(value.slice(0, value.lastIndexOf("."))) as { token?: string };
  if (!token) throw new Error("The console session holds no token.");
  return token;
}

function login(user: TestUser) {
  return { email: user.email, password: PASSWORD };
}
