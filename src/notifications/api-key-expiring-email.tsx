/** The email to a tenant's admins about one of its API keys that expires within a week. */
import { z } from "zod";
import { adminEmail, emailTemplate, tenantFields, tenantLabel, utcMinute } from "./email-template";

export const apiKeyExpiringPayload = z.object({
  ...tenantFields,
  api_key_id: z.uuid(),
  key_name: z.string(),
  /** The key's public prefix, never its secret. */
  key_prefix: z.string(),
  expires_at: z.iso.datetime(),
});

export const apiKeyExpiringEmail = emailTemplate(apiKeyExpiringPayload, async (payload) => {
  const tenant = tenantLabel(payload);
  const when = utcMinute(payload.expires_at);
  const advice =
    "After that every request with it is refused: create a new key (or rotate this one) and move its users to it before then.";
  return adminEmail(
    `An API key of ${payload.tenant_name} expires on ${when}`,
    [
      `The API key "${payload.key_name}" (${payload.key_prefix}…) of the tenant ${tenant} expires on ${when}.`,
      advice,
    ],
    <>
      <p>
        The API key <strong>{payload.key_name}</strong> (<code>{payload.key_prefix}…</code>) of the tenant{" "}
        {tenant} expires on {when}.
      </p>
      <p>{advice}</p>
    </>,
  );
});
