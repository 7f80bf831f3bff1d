import { mkdir, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { type Browser, type BrowserContext, chromium, type Locator, type Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startWorkerStack, type WorkerStack } from "./support/worker-stack";

/**
 * The admin console in a real browser (Debian's Chromium, driven by playwright-core) against
 * the real local stack: Postgres, Redis, the Worker over HTTP and the provisioner in dry-run
 * mode. The steps build on each other, like an operator's session. Screenshots go to a temp
 * folder, or to docs/screenshots with UPDATE_SCREENSHOTS=1.
 */
const CHROMIUM = process.env.CHROMIUM_PATH ?? "/usr/bin/chromium";
const ADMIN = { email: "admin@console.test", password: "console-admin-password" };
const SLUG = "acme";
const SHOTS = process.env.UPDATE_SCREENSHOTS
  ? resolve(import.meta.dirname, "../../docs/screenshots")
  : join(tmpdir(), `tenantry-console-shots-${process.pid}`);

/** The element's visible text, or "" while it is not there yet (for `expect.poll`). */
const text = (locator: Locator) =>
  locator
    .textContent({ timeout: 1_000 })
    .then((t) => (t ?? "").replace(/\s+/g, " ").trim())
    .catch(() => "");

describe("admin console in Chromium", () => {
  let stack: WorkerStack;
  let browser: Browser;
  let admin: BrowserContext;
  let page: Page;
  const owner = { email: `owner@${SLUG}.test`, password: "" };

  const url = (path: string) => `${stack.worker.url}${path}`;
  const shot = (name: string, target: Page = page) =>
    target.screenshot({ path: join(SHOTS, `${name}.png`), fullPage: true });

  beforeAll(async () => {
    await mkdir(SHOTS, { recursive: true });
    [stack, browser] = await Promise.all([
      startWorkerStack({
        name: "console",
        adminEmail: ADMIN.email,
        adminPassword: ADMIN.password,
        provisioner: true,
      }),
      chromium.launch({
        executablePath: CHROMIUM,
        headless: true,
        args: [
          "--no-sandbox",
          "--disable-gpu",
          "--disable-quic",
          "--no-first-run",
          "--disable-background-networking",
          "--disable-component-update",
          "--disable-sync",
        ],
      }),
    ]);
    admin = await browser.newContext({ viewport: { width: 1280, height: 860 } });
    page = await admin.newPage();
  }, 120_000);

  afterAll(async () => {
    await browser?.close();
    await stack?.stop();
    if (!process.env.UPDATE_SCREENSHOTS) await rm(SHOTS, { recursive: true, force: true });
  });

  it("signs a system admin in, after a friendly message for a wrong password", async () => {
    await page.goto(url("/console"));
    await page.getByLabel("Email").fill(ADMIN.email);
    await page.getByLabel("Password").fill("not-the-password");
    await page.getByRole("button", { name: "Sign in" }).click();
    await expect.poll(() => text(page.getByRole("alert"))).toContain("The email or password is not right.");
    await shot("sign-in");

    await page.getByLabel("Password").fill(ADMIN.password);
    await page.getByRole("button", { name: "Sign in" }).click();
    await page.waitForURL(url("/console/tenants"));
    await expect.poll(() => page.locator("tr[data-tenant=default]").count()).toBe(1);

    const [cookie] = await admin.cookies();
    expect(cookie).toMatchObject({
      name: "__Host-tenantry_console",
      httpOnly: true,
      secure: true,
      sameSite: "Strict",
      path: "/",
    });
  });

  it("creates a tenant, shows its secrets once, and its provisioning turns succeeded", async () => {
    await page.getByRole("link", { name: "Create tenant" }).click();
    await page.getByLabel("Name").fill("Acme Corp");
    await page.getByLabel("Slug").fill(SLUG);
    await page.getByLabel("Plan").selectOption("pro");
    await page.getByLabel("First admin's email").fill(owner.email);
    await page.getByRole("button", { name: "Create tenant" }).click();

    await expect.poll(() => text(page.getByRole("heading", { level: 1 }))).toBe("Tenant Acme Corp created");
    owner.password = (await page.getByTestId("temporary-password").textContent())?.trim() ?? "";
    expect(owner.password.length).toBeGreaterThanOrEqual(12);
    await expect
      .poll(() => text(page.getByTestId("api-key")))
      .toMatch(new RegExp(`^uk_${SLUG}_[0-9A-Za-z]{32,}$`));
    await shot("tenant-created");

    await page.getByRole("link", { name: `Open ${SLUG}` }).click();
    await page.waitForURL(url(`/console/tenants/${SLUG}`));
    await page.getByText(owner.email, { exact: true }).waitFor();
    // The timeline refreshes itself while the job is in flight.
    const provision = page.locator('#provisioning li[data-job="provision"] .badge');
    await expect.poll(() => text(provision), { timeout: 30_000 }).toBe("succeeded");
    await expect.poll(() => text(page.locator("#provisioning"))).toContain("namespace tenant-acme");

    await page.goto(url(`/console/tenants?q=${SLUG}`));
    const row = page.locator(`tr[data-tenant=${SLUG}]`);
    await expect.poll(() => text(row.locator("[data-quota=members] .of"))).toBe("1 / 100");
    await expect.poll(() => page.locator("tbody tr").count()).toBe(1);
    // Filters apply as soon as a select changes.
    await page.getByLabel("Status", { exact: true }).selectOption("suspended");
    await page.waitForURL(/status=suspended/);
    await expect.poll(() => text(page.locator("#tenants-title"))).toBe("No tenants match");
  });

  it("creates an API key shown once, and revokes it after confirmation", async () => {
    await page.goto(url(`/console/tenants/${SLUG}`));
    await page.getByLabel("New key name").fill("ci-deploy");
    await page.getByLabel("Role", { exact: true }).selectOption("member");
    await page.getByRole("button", { name: "Create key" }).click();
    await expect.poll(() => text(page.getByTestId("new-api-key"))).toMatch(new RegExp(`^uk_${SLUG}_`));
    await shot("api-key-created");

    await page.getByRole("link", { name: `Back to ${SLUG}` }).click();
    await expect.poll(() => page.locator('tr[data-key="ci-deploy"]').count()).toBe(1);
    await page.getByRole("link", { name: "Revoke ci-deploy" }).click();
    await expect
      .poll(() => text(page.getByRole("heading", { level: 1 })))
      .toBe("Revoke API key “ci-deploy”?");
    await page.getByRole("button", { name: "Revoke key" }).click();
    await expect.poll(() => text(page.getByRole("status").first())).toContain("API key revoked");
    await expect.poll(() => page.locator('tr[data-key="ci-deploy"]').count()).toBe(0);
  });

  it("suspends with a reason and reactivates, each after confirmation", async () => {
    await page.getByRole("link", { name: "Suspend" }).click();
    await page.getByRole("button", { name: "Suspend tenant" }).click();
    // The reason is required: the browser keeps the form until it is given.
    await expect.poll(() => text(page.getByRole("heading", { level: 1 }))).toBe("Suspend Acme Corp?");
    await page.getByLabel("Reason").fill("unpaid invoice");
    await shot("confirm-suspend");
    await page.getByRole("button", { name: "Suspend tenant" }).click();
    await page.waitForURL(url(`/console/tenants/${SLUG}?notice=suspended`));
    await expect.poll(() => text(page.locator("h1 .badge"))).toBe("suspended");
    await page.getByText("unpaid invoice").waitFor();
    await expect
      .poll(() => text(page.locator('#provisioning li[data-job="suspend"] .badge')), { timeout: 30_000 })
      .toBe("succeeded");

    await page.getByRole("link", { name: "Reactivate" }).click();
    await page.getByRole("button", { name: "Reactivate tenant" }).click();
    await expect.poll(() => text(page.locator("h1 .badge"))).toBe("active");
    await expect.poll(() => text(page.getByRole("status").first())).toBe("Tenant reactivated.");
  });

  it("refuses a console form post without the session's CSRF token", async () => {
    const forged = await admin.request.post(url(`/console/tenants/${SLUG}/actions/suspend`), {
      form: { reason: "forged", _csrf: "not-the-token" },
      maxRedirects: 0,
    });
    expect(forged.status()).toBe(403);
    expect(await forged.text()).toContain("This form has expired or did not come from the console.");
    const missing = await admin.request.post(url("/console/tenants"), {
      form: { name: "Evil", slug: "evil", admin_email: "x@evil.test" },
      maxRedirects: 0,
    });
    expect(missing.status()).toBe(403);

    await page.goto(url(`/console/tenants/${SLUG}`));
    await expect.poll(() => text(page.locator("h1 .badge"))).toBe("active");
  });

  it("keeps a tenant admin inside their own tenant", async () => {
    const context = await browser.newContext({ viewport: { width: 1280, height: 860 } });
    const ownerPage = await context.newPage();
    try {
      await ownerPage.goto(url("/console"));
      await ownerPage.getByLabel("Email").fill(owner.email);
      await ownerPage.getByLabel("Password").fill(owner.password);
      await ownerPage.getByRole("button", { name: "Sign in" }).click();
      // A temporary password opens nothing but its own replacement.
      await ownerPage.waitForURL(url("/console/password?notice=password_change_required"));
      await ownerPage.getByLabel("Current password").fill(owner.password);
      owner.password = `owner ${crypto.randomUUID()}`;
      await ownerPage.getByLabel("New password", { exact: true }).fill(owner.password);
      await ownerPage.getByLabel("Confirm new password").fill(owner.password);
      await ownerPage.getByRole("button", { name: "Change password" }).click();
      await ownerPage.waitForURL(url(`/console/tenants/${SLUG}?notice=password_changed`));
      await expect.poll(() => text(ownerPage.getByRole("status").first())).toBe("Password changed.");
      await ownerPage.getByRole("link", { name: "My tenant" }).waitFor();
      await expect.poll(() => ownerPage.getByRole("link", { name: "Suspend" }).count()).toBe(0);
      // Tenant admins are metered: the page shows what is left of the hour's budget.
      await expect.poll(() => text(ownerPage.getByTestId("rate-limit"))).toContain("calls left");
      await shot("tenant-admin", ownerPage);

      const other = await ownerPage.goto(url("/console/tenants/default"));
      expect(other?.status()).toBe(403);
      await expect
        .poll(() => text(ownerPage.getByRole("alert")))
        .toContain("Your account can only see its own tenant.");
      await shot("tenant-admin-forbidden", ownerPage);

      expect((await ownerPage.goto(url("/console/tenants")))?.status()).toBe(403);
      expect((await ownerPage.goto(url("/console/tenants/no-such-tenant")))?.status()).toBe(403);

      await ownerPage.goto(url(`/console/tenants/${SLUG}/actions/suspend`));
      await ownerPage.getByLabel("Reason").fill("trying my luck");
      const [answer] = await Promise.all([
        ownerPage.waitForResponse((r) => r.request().method() === "POST"),
        ownerPage.getByRole("button", { name: "Suspend tenant" }).click(),
      ]);
      expect(answer.status()).toBe(403);
      await expect
        .poll(() => text(ownerPage.getByRole("alert")))
        .toContain("You don't have permission to do this.");
    } finally {
      await context.close();
    }
  });

  it("lays the pages out for a desktop and a phone-sized screen", async () => {
    await page.goto(url("/console/tenants"));
    await shot("tenants");
    await page.goto(url(`/console/tenants/${SLUG}`));
    await shot("tenant-detail");
    const phone = await browser.newContext({ viewport: { width: 390, height: 844 } });
    try {
      await phone.addCookies(await admin.cookies());
      const small = await phone.newPage();
      await small.goto(url(`/console/tenants/${SLUG}`));
      // Nothing sticks out sideways (wide tables scroll inside their panel). A string, so the
      // Node-side types need no DOM library.
      const sticking = await small.evaluate<string[]>(`[...document.querySelectorAll("main *")]
        .filter((el) => el.getBoundingClientRect().right > window.innerWidth + 1 && !el.closest(".table-wrap"))
        .map((el) => el.tagName + "." + el.className)`);
      expect(sticking).toEqual([]);
      expect(await small.evaluate<number>("document.documentElement.scrollWidth - window.innerWidth")).toBe(
        0,
      );
      await shot("tenant-detail-mobile", small);
    } finally {
      await phone.close();
    }
  });

  it("signs out", async () => {
    await page.getByRole("button", { name: "Sign out" }).click();
    await expect.poll(() => text(page.getByRole("status"))).toBe("You have signed out.");
    expect((await page.goto(url(`/console/tenants/${SLUG}`)))?.url()).toContain("/console?next=");
  });
});
