/** Sign-in, sign-out and the landing redirect. */
import type { Context } from "hono";
import type { ContentfulStatusCode } from "hono/utils/http-status";
import { resultOf } from "./api-client";
import type { ConsoleEnv } from "./console-env";
import { formOf } from "./csrf";
import { Layout, Notice, renderPage } from "./layout";
import { friendly, NOTICES, noticeOf } from "./messages";
import { SignInPage } from "./pages/sign-in";
import { landingOf, safeNext, toPasswordChange } from "./respond";
import { endSession, startSession } from "./session";

type C = Context<ConsoleEnv>;

/** `GET /console`: the sign-in page, or straight on to where a signed-in user belongs. */
export function home(c: C) {
  const session = c.get("session");
  if (session.identity) return c.redirect(safeNext(c.req.query("next")) ?? landingOf(session.identity), 303);
  const notice = session.expired ? NOTICES.expired : noticeOf(c.req.query("notice"));
  return renderPage(c, <SignInPage session={session} next={safeNext(c.req.query("next"))} notice={notice} />);
}

export async function signIn(c: C) {
  const form = await formOf(c);
  const email = (form.email ?? "").trim();
  const next = safeNext(form.next);
  const result = await resultOf(
    c.get("api").POST("/api/v1/auth/login", { body: { email, password: form.password ?? "" } }),
  );
  if (!result.ok) {
    const problem = friendly(result.problem, result.retryAfter);
    if (result.problem.code === "unauthenticated") {
      problem.title = "Not signed in";
      problem.message = "The email or password is not right.";
    }
    return renderPage(
      c,
      <SignInPage session={c.get("session")} email={email} next={next} problem={problem} />,
      result.status as ContentfulStatusCode,
    );
  }
  const identity = await startSession(c, result.data.access_token, email);
  // A temporary password's token opens nothing else, so `next` waits until it is changed.
  if (result.data.password_change_required) return toPasswordChange(c);
  return c.redirect(next ?? (identity ? landingOf(identity) : "/console"), 303);
}

/**
 * Signing out revokes the session's token server-side (the API's logout-all bumps the user's
 * token version), so a copied cookie or token is worthless afterwards, not only this browser's.
 */
export async function signOut(c: C) {
  if (c.get("session").token) await c.get("api").POST("/api/v1/auth/logout-all");
  endSession(c);
  return c.redirect("/console?notice=signed_out", 303);
}

/** A user who belongs to no tenant and is not a system admin has nothing to manage yet. */
export function noTenant(c: C) {
  const session = c.get("session");
  return renderPage(
    c,
    <Layout title="No tenant" session={session}>
      <h1>No tenant yet</h1>
      <Notice text={noticeOf(c.req.query("notice"))} />
      <p>Your account is not a member of any tenant. Ask a tenant admin for an invitation.</p>
    </Layout>,
  );
}
