import { z } from "@hono/zod-openapi";
import { jsonContent, jsonRequest } from "../../lib/openapi";
import { PageQuery, pageOf } from "../../lib/pagination";
import { defineRoute } from "../route-table";
import { IdParam, RoleSchema, tenantSecurity } from "../schemas";

export const InvitationSchema = z
  .object({
    id: z.uuid(),
    email: z.string(),
    role: RoleSchema,
    invited_by: z.uuid().nullable(),
    expires_at: z.iso.datetime(),
    created_at: z.iso.datetime(),
  })
  .openapi("Invitation");

const adminOnly = { kind: "tenant", role: "admin" } as const;

export const create = defineRoute({
  access: adminOnly,
  method: "post",
  path: "/api/v1/invitations",
  operationId: "createInvitation",
  summary: "Invite an email to the tenant (the token goes to the invitee by email; 7-day expiry)",
  description:
    "Creates the invitation and, in the same transaction, its email to the invitee, sent off the request path (at least once, retried with backoff). The email links to the accept page on the tenant's console host, `https://<slug>.<BASE_DOMAIN>/console/invitations/accept#token=…`; the token travels only in that email, so accepting proves the invitee reads that mailbox. The answer carries no token, except with INVITATION_DELIVERY=response (development and tests only).",
  tags: ["invitations"],
  security: tenantSecurity,
  request: {
    body: jsonRequest(
      z
        .object({ email: z.email().max(254), role: RoleSchema })
        .strict()
        .openapi("CreateInvitation"),
    ),
  },
  // The email is already a member; the members quota counts pending invitations.
  problems: ["conflict", "quota_exceeded"],
  responses: {
    201: jsonContent(
      z
        .object({
          invitation: InvitationSchema,
          token: z.string().optional().openapi({
            description:
              "Only with INVITATION_DELIVERY=response (development and tests, refused elsewhere): the token the invitation email carries",
          }),
          accept_url: z.url().optional().openapi({
            description:
              "Only with INVITATION_DELIVERY=response: the link the invitation email carries (the tenant console's accept page, the token in its fragment)",
          }),
        })
        .openapi("NewInvitation"),
      "Created; the invitation email is on its way to the invitee",
    ),
  },
});

export const list = defineRoute({
  access: adminOnly,
  method: "get",
  path: "/api/v1/invitations",
  operationId: "listInvitations",
  summary: "Pending invitations",
  tags: ["invitations"],
  security: tenantSecurity,
  request: { query: PageQuery },
  responses: { 200: jsonContent(pageOf(InvitationSchema, "InvitationPage"), "A page") },
});

export const remove = defineRoute({
  access: adminOnly,
  method: "delete",
  path: "/api/v1/invitations/{id}",
  operationId: "revokeInvitation",
  summary: "Revoke a pending invitation",
  tags: ["invitations"],
  security: tenantSecurity,
  request: { params: IdParam },
  problems: ["not_found"],
  responses: { 204: { description: "Revoked" } },
});

export const accept = defineRoute({
  access: { kind: "public" },
  // Every accept counts against its address; an existing account's password against the login limits.
  limits: { invitationAccepts: true, passwordGuesses: true },
  method: "post",
  path: "/api/v1/invitations/accept",
  operationId: "acceptInvitation",
  summary: "Accept an invitation: join the tenant (creating the account if new) and get a token",
  description:
    "For an email without an account: `{token, name, password}` creates it. For an existing account the caller must prove to be it: send that user's own access token (`Authorization: Bearer`, any tenant), or `{token, password}` with its current password — otherwise 401 and nothing changes. An API key is never proof.",
  tags: ["invitations"],
  security: [{}, { bearerJwt: [] }] as Array<Record<string, string[]>>,
  request: {
    body: jsonRequest(
      z
        .object({
          token: z.string().min(1).max(200),
          name: z.string().trim().min(1).max(100).optional(),
          password: z.string().min(1).max(1024).optional().openapi({
            description:
              "New account: its password (12–256 characters, not the email, not a common password). Existing account: its current password",
          }),
        })
        .strict()
        .openapi("AcceptInvitation"),
    ),
  },
  // Not the invitee (or a bad token), a temporary password's token, already a member, no
  // longer valid.
  problems: [
    "unauthenticated",
    "invalid_token",
    "password_change_required",
    "conflict",
    "invitation_expired",
  ],
  responses: {
    200: jsonContent(
      z
        .object({
          user_id: z.uuid(),
          membership: z.object({ tenant_id: z.uuid(), tenant_slug: z.string(), role: RoleSchema }),
          access_token: z.string(),
          token_type: z.literal("Bearer"),
          expires_in: z.number().int(),
        })
        .openapi("AcceptedInvitation"),
      "Joined",
    ),
  },
});
