/**
 * Accepting an invitation from the emailed link, on the tenant's console host. The page posts
 * to the API's `POST /api/v1/invitations/accept` like any client, without the session's token:
 * the invitee proves the account with its password (a new one for a new account), whoever
 * may be signed in in this browser. On success the console signs the invitee in.
 */
import type { Context } from "hono";
import type { ContentfulStatusCode } from "hono/utils/http-status";
import { resultOf } from "./api-client";
import type { ConsoleEnv } from "./console-env";
import { formOf } from "./csrf";
import { renderPage } from "./layout";
import { type FriendlyProblem, friendly } from "./messages";
import { InvitationAcceptPage } from "./pages/invitation-accept";
import { landingOf } from "./respond";
import { startSession } from "./session";

type C = Context<ConsoleEnv>;

const NO_CODE: FriendlyProblem = {
  title: "Check the form",
  message:
    "The invitation code is missing: open the link in your invitation email, or paste the code it shows.",
  fields: [{ path: "token", message: "Required" }],
};

const EXISTING_ACCOUNT: FriendlyProblem = {
  title: "Not signed in",
  message:
    "This invitation is for an account that already exists, and the password is not its current one. Enter that account's current password.",
  fields: [],
};

export function form(c: C) {
  return renderPage(c, <InvitationAcceptPage session={c.get("session")} />);
}

export async function accept(c: C) {
  const posted = await formOf(c);
  const token = (posted.token ?? "").trim();
  const name = (posted.name ?? "").trim();
  if (!token) return refused(c, { token, name }, NO_CODE, 400);
  const api = c.get("api");
  const result = await resultOf(
    api.POST("/api/v1/invitations/accept", {
      body: { token, password: posted.password ?? "", ...(name ? { name } : {}) },
      headers: { authorization: null },
    }),
  );
  if (!result.ok) {
    const problem =
      result.problem.code === "unauthenticated"
        ? EXISTING_ACCOUNT
        : friendly(result.problem, result.retryAfter);
    return refused(c, { token, name }, problem, result.status as ContentfulStatusCode);
  }
  const { access_token: accessToken } = result.data;
  const me = await resultOf(api.GET("/api/v1/me", { headers: { authorization: `Bearer ${accessToken}` } }));
  const identity = await startSession(c, accessToken, me.ok ? (me.data.user?.email ?? "") : "");
  return c.redirect(`${identity ? landingOf(identity) : "/console"}?notice=invitation_accepted`, 303);
}

function refused(
  c: C,
  values: { token: string; name: string },
  problem: FriendlyProblem,
  status: ContentfulStatusCode,
) {
  return renderPage(
    c,
    <InvitationAcceptPage
      session={c.get("session")}
      token={values.token}
      name={values.name}
      problem={problem}
    />,
    status,
  );
}
