/**
 * A minimal browser for the console through the Worker's real fetch entry: one host (the
 * console works on every host, and a tenant's emailed links point at its subdomain), its
 * `__Host-` session cookie, and the CSRF token of the last page it read.
 */
import { api } from "./fixtures";

export const CONSOLE_COOKIE = "__Host-tenantry_console";

export class ConsoleBrowser {
  cookie = "";
  csrf = "";
  /**
   * Each browser gets its own address in the documentation prefix, with 32 random bits in its
   * /64 (per-IP limits meter an IPv6 client by its /64), so per-IP limits never leak between
   * browsers, tests or test files.
   */
  readonly ip = (() => {
    const [a, b, c, d] = crypto.randomUUID().replace(/-/g, "").match(/.{4}/g) ?? [];
    return `2001:db8:${a}:${b}::${c}:${d}`;
  })();

  constructor(readonly host = "localhost") {}

  async get(path: string): Promise<Response> {
    return this.keep(await api(path, { host: this.host, headers: this.headers(), redirect: "manual" }));
  }

  /** Posts a form with the CSRF token of the last page, another one, or none (`null`). */
  async post(
    path: string,
    form: Record<string, string>,
    opts: { csrf?: string | null } = {},
  ): Promise<Response> {
    const body = new URLSearchParams(form);
    const csrf = opts.csrf === undefined ? this.csrf : opts.csrf;
    if (csrf !== null) body.set("_csrf", csrf);
    return this.keep(
      await api(path, {
        host: this.host,
        method: "POST",
        headers: { ...this.headers(), "content-type": "application/x-www-form-urlencoded" },
        body: body.toString(),
        redirect: "manual",
      }),
    );
  }

  /** Signs in and follows the redirect, like a browser, so the next form has the new token. */
  async signIn(email: string, password: string): Promise<Response> {
    await this.get("/console");
    const res = await this.post("/console/sign-in", { email, password });
    return this.get(res.headers.get("location") ?? "/console");
  }

  private headers(): Record<string, string> {
    return { "cf-connecting-ip": this.ip, ...(this.cookie ? { cookie: this.cookie } : {}) };
  }

  private async keep(res: Response): Promise<Response> {
    const set = res.headers.get("set-cookie");
    if (set?.startsWith(`${CONSOLE_COOKIE}=`)) {
      const value = set.split(";")[0] ?? "";
      this.cookie = value.endsWith("=") ? "" : value;
    }
    if (res.headers.get("content-type")?.startsWith("text/html")) {
      const html = await res.clone().text();
      this.csrf = /name="_csrf" value="([^"]+)"/.exec(html)?.[1] ?? this.csrf;
    }
    return res;
  }
}
