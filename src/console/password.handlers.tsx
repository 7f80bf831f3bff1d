/**
 * Changing one's own password, and the only page a temporary password's token can use. The
 * API revokes every token issued before the change, this session's too, so the console signs
 * in again with the new password and starts a fresh session.
 */
import type { Context } from "hono";
import type { ContentfulStatusCode } from "hono/utils/http-status";
import { resultOf } from "./api-client";
import type { ConsoleEnv } from "./console-env";
import { formOf } from "./csrf";
import { renderPage } from "./layout";
import { type FriendlyProblem, friendly, noticeOf } from "./messages";
import { PasswordPage } from "./pages/password";
import { identityOr, landingOf, sessionRedirect } from "./respond";
import { endSession, startSession } from "./session";

type C = Context<ConsoleEnv>;

const MISMATCH: FriendlyProblem = {
  title: "Check the form",
  message: "The new password and its confirmation differ.",
  fields: [{ path: "confirm_password", message: "Does not match the new password" }],
};

const WRONG_CURRENT: FriendlyProblem = {
  title: "Check the form",
  message: "The current password is not right.",
  fields: [{ path: "current_password", message: "Is not right" }],
};

export function form(c: C) {
  const identity = identityOr(c);
  if (identity instanceof Response) return identity;
  return renderPage(c, <PasswordPage session={c.get("session")} notice={noticeOf(c.req.query("notice"))} />);
}

export async function change(c: C) {
  const identity = identityOr(c);
  if (identity instanceof Response) return identity;
  const posted = await formOf(c);
  const chosen = posted.new_password ?? "";
  if (chosen !== (posted.confirm_password ?? "")) return refused(c, MISMATCH, 400);

  const api = c.get("api");
  const result = await resultOf(
    api.POST("/api/v1/auth/password", {
      body: { current_password: posted.current_password ?? "", new_password: chosen },
    }),
  );
  if (!result.ok) {
    // The session's token was sent, so a plain 401 is about the current password, not the session.
    if (result.problem.code === "unauthenticated") return refused(c, WRONG_CURRENT, 401);
    return (
      sessionRedirect(c, result) ??
      refused(c, friendly(result.problem, result.retryAfter), result.status as ContentfulStatusCode)
    );
  }

  const login = await resultOf(
    api.POST("/api/v1/auth/login", { body: { email: identity.email, password: chosen } }),
  );
  if (!login.ok) {
    // The change stands and the old token is dead either way: the user signs in by hand.
    endSession(c);
    return c.redirect("/console?notice=password_changed_sign_in", 303);
  }
  const fresh = await startSession(c, login.data.access_token, identity.email);
  return c.redirect(`${fresh ? landingOf(fresh) : "/console"}?notice=password_changed`, 303);
}

function refused(c: C, problem: FriendlyProblem, status: ContentfulStatusCode) {
  return renderPage(c, <PasswordPage session={c.get("session")} problem={problem} />, status);
}
