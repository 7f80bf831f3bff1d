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
  /** Each browser gets its own address, so per-IP limits never leak between tests. */
  readonly ip = `198.51.100.${Math.floor(Math.random() * 250) + 1}`;

  constructor(readonly host = "localhost") {}

  async get(path: string): Promise<Response> {
    return this.keep(await api(path, { host: this.host, headers: this.headers(), redirect: "manual" }));
  }

  async post(path: string, form: Record<string, string>): Promise<Response> {
    const body = new URLSearchParams(form);
    body.set("_csrf", this.csrf);
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
