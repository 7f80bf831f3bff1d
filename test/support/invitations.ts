/**
 * Inviting as staging and production do: through a Worker without INVITATION_DELIVERY=response,
 * so the API's answer has no token and the invitee's email, read back from the mail catcher,
 * is the only way to it.
 */
import type { Pool } from "@neondatabase/serverless";
import { expect } from "vitest";
import worker from "../../src/index";
import { jsonInit } from "./fixtures";
import { call } from "./http";
import { type CaughtEmail, invitationEmail, invitationLinkOf } from "./mail";

export interface EmailedInvitation {
  invitation: { id: string; email: string; role: string; expires_at: string };
  /** The API's whole answer (no token, no accept_url). */
  answer: Record<string, unknown>;
  email: CaughtEmail;
  /** The link in the email, on the tenant's console host, and the token in its fragment. */
  link: URL;
  token: string;
}

/** `POST /api/v1/invitations` with `headers` (the inviter's credential), then its email. */
export async function inviteByEmail(
  pool: Pool,
  headers: Record<string, string>,
  body: { email: string; role: string },
): Promise<EmailedInvitation> {
  const res = await call(worker, "/api/v1/invitations", jsonInit("POST", body, headers), {
    INVITATION_DELIVERY: "",
  });
  expect(res.status, await res.clone().text()).toBe(201);
  const answer = (await res.json()) as EmailedInvitation["answer"] & {
    invitation: EmailedInvitation["invitation"];
  };
  const email = await invitationEmail(pool, answer.invitation.id);
  return { invitation: answer.invitation, answer, email, ...invitationLinkOf(email) };
}
