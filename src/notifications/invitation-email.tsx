/**
 * The invitation email: a link to the accept page on the tenant's console host, with the
 * token in the URL's fragment (`#token=…`). Browsers never send a fragment to a server, so
 * the token stays out of access logs, proxies and `Referer` headers; the page's script moves
 * it into the form. Without script the page asks for the token, which the email also prints.
 */
import { z } from "zod";
import { ROLES } from "../db/schema";
import type { Config } from "../env";
import { emailTemplate, renderHtml, subjectLine, utcMinute } from "./email-template";

/** The console page that accepts an invitation (src/console/invitations.handlers.tsx). */
export const ACCEPT_PAGE_PATH = "/console/invitations/accept";

export const invitationPayload = z.object({
  invitation_id: z.uuid(),
  tenant_name: z.string(),
  tenant_slug: z.string(),
  role: z.enum(ROLES),
  expires_at: z.iso.datetime(),
  /** The accept page on the tenant's console host, without the token. */
  accept_page: z.url(),
});

export type InvitationPayload = z.infer<typeof invitationPayload>;

/**
 * The tenant's console host: `https://<slug>.<BASE_DOMAIN>`. In development the scheme and
 * port are the request's, since the dev stack serves plain http on its own port.
 */
export function tenantConsoleOrigin(config: Config, slug: string, requestUrl: string): string {
  const host = `${slug}.${config.BASE_DOMAIN}`;
  if (config.ENVIRONMENT !== "development") return `https://${host}`;
  const url = new URL(requestUrl);
  return `${url.protocol}//${host}${url.port ? `:${url.port}` : ""}`;
}

/** The link an invitation email carries: the accept page with the token in the fragment. */
export function invitationLink(acceptPage: string, token: string): string {
  return `${acceptPage}#token=${encodeURIComponent(token)}`;
}

export const invitationEmail = emailTemplate(invitationPayload, async (payload, token) => {
  if (!token) throw new Error("an invitation email needs its token");
  const link = invitationLink(payload.accept_page, token);
  const tenant = `${payload.tenant_name} (${payload.tenant_slug})`;
  const role = `${/^[aeiou]/.test(payload.role) ? "an" : "a"} ${payload.role}`;
  const expires = utcMinute(payload.expires_at);
  const subject = subjectLine(`You are invited to join ${payload.tenant_name} on Tenantry`);
  const text = [
    `You have been invited to join the tenant ${tenant} on Tenantry as ${role}.`,
    "",
    "Accept the invitation:",
    link,
    "",
    "If the page asks for an invitation code, paste this one:",
    token,
    "",
    `The invitation expires on ${expires}. If you did not expect it, ignore this email:`,
    "nothing happens unless the link is used.",
  ].join("\n");
  const html = await renderHtml(
    subject,
    <>
      <p>
        You have been invited to join the tenant <strong>{tenant}</strong> on Tenantry as {role}.
      </p>
      <p>
        <a href={link}>Accept the invitation</a>
      </p>
      <p>
        If the page asks for an invitation code, paste this one: <code>{token}</code>
      </p>
      <p>
        The invitation expires on {expires}. If you did not expect it, ignore this email: nothing happens
        unless the link is used.
      </p>
    </>,
  );
  return { subject, text, html };
});
