/** The email to a tenant's admins about one of its API keys that expires within a week. */
import { z } from "zod";
import { emailTemplate, renderHtml, subjectLine, utcMinute } from "./email-template";

export const apiKeyExpiringPayload = z.object({
  tenant_name: z.string(),
  tenant_slug: z.string(),
  api_key_id: z.uuid(),
  key_name: z.string(),
  /** The key's public prefix, never its secret. */
  key_prefix: z.string(),
  expires_at: z.iso.datetime(),
});

export const apiKeyExpiringEmail = emailTemplate(apiKeyExpiringPayload, async (payload) => {
  const tenant = `${payload.tenant_name} (${payload.tenant_slug})`;
  const when = utcMinute(payload.expires_at);
  const subject = subjectLine(`An API key of ${payload.tenant_name} expires on ${when}`);
  const advice =
    "After that every request with it is refused: create a new key (or rotate this one) and move its users to it before then.";
  const text = [
    `The API key "${payload.key_name}" (${payload.key_prefix}…) of the tenant ${tenant} expires on ${when}.`,
    advice,
    "",
    "You get this email as an admin of the tenant.",
  ].join("\n");
  const html = await renderHtml(
    subject,
    <>
      <p>
        The API key <strong>{payload.key_name}</strong> (<code>{payload.key_prefix}…</code>) of the tenant{" "}
        {tenant} expires on {when}.
      </p>
      <p>{advice}</p>
      <p>You get this email as an admin of the tenant.</p>
    </>,
  );
  return { subject, text, html };
});
