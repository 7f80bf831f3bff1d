/** How console handlers answer: sign-in redirects, failure pages, and safe `next` targets. */
import type { Context } from "hono";
import type { ContentfulStatusCode } from "hono/utils/http-status";
import type { ApiResult } from "./api-client";
import type { ConsoleEnv } from "./console-env";
import { renderPage } from "./layout";
import { friendly } from "./messages";
import { ErrorPage } from "./pages/error-page";
import { endSession, type Identity } from "./session";

type Failure = Extract<ApiResult<unknown>, { ok: false }>;

const SESSION_CODES = new Set(["unauthenticated", "invalid_token"]);

export const PASSWORD_PAGE = "/console/password";

/** Where a signed-in user starts: the tenant list for system admins, otherwise their own tenant. */
export function landingOf(identity: Identity): string {
  if (identity.isSystemAdmin) return "/console/tenants";
  return identity.tenantSlug ? `/console/tenants/${identity.tenantSlug}` : "/console/no-tenant";
}

/** Only console paths are followed after sign-in, so `next` cannot send anyone elsewhere. */
export function safeNext(next: string | undefined): string | undefined {
  const local = next?.startsWith("/console/") && !next.startsWith("//") && !next.includes("\\");
  return local ? next : undefined;
}

export function toSignIn(c: Context<ConsoleEnv>, opts: { expired?: boolean } = {}): Response {
  const next = safeNext(new URL(c.req.url).pathname + new URL(c.req.url).search);
  const query = new URLSearchParams();
  if (c.req.method === "GET" && next) query.set("next", next);
  if (opts.expired) query.set("notice", "expired");
  const text = query.toString();
  return c.redirect(text ? `/console?${text}` : "/console", 303);
}

/** The signed-in user, or undefined after answering with a redirect to the sign-in page. */
export function identityOr(c: Context<ConsoleEnv>): Identity | Response {
  const session = c.get("session");
  return session.identity ?? toSignIn(c, { expired: session.expired });
}

/** A failed API call the page cannot do without: a session redirect if it is one, else an error page. */
export function failurePage(c: Context<ConsoleEnv>, failure: Failure): Response | Promise<Response> {
  return (
    sessionRedirect(c, failure) ??
    renderPage(
      c,
      <ErrorPage session={c.get("session")} problem={friendly(failure.problem, failure.retryAfter)} />,
      failure.status as ContentfulStatusCode,
    )
  );
}

/**
 * A failure about the session rather than the page. A token issued for a temporary password
 * is good for nothing but changing it: to the password page. A token the API no longer
 * accepts (expired, revoked, user removed, secret rotated): drop it, sign in again.
 */
export function sessionRedirect(c: Context<ConsoleEnv>, failure: Failure): Response | undefined {
  if (failure.problem.code === "password_change_required") return toPasswordChange(c);
  if (!SESSION_CODES.has(failure.problem.code)) return undefined;
  endSession(c);
  return toSignIn(c, { expired: true });
}

export function toPasswordChange(c: Context<ConsoleEnv>): Response {
  return c.redirect(`${PASSWORD_PAGE}?notice=password_change_required`, 303);
}

export function notFoundPage(c: Context<ConsoleEnv>): Response | Promise<Response> {
  const problem = friendly({
    type: "about:blank",
    title: "Not found",
    status: 404,
    detail: "No console page here.",
    code: "not_found",
  });
  return renderPage(c, <ErrorPage session={c.get("session")} problem={problem} />, 404);
}
