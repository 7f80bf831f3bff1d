/** The email to a tenant's admins when one of its webhook endpoints was disabled for failing. */
import { z } from "zod";
import { adminEmail, emailTemplate, tenantFields, tenantLabel, utcMinute } from "./email-template";

export const webhookDisabledPayload = z.object({
  ...tenantFields,
  endpoint_id: z.uuid(),
  url: z.string(),
  failing_since: z.iso.datetime(),
});

export const webhookDisabledEmail = emailTemplate(webhookDisabledPayload, async (payload) => {
  const tenant = tenantLabel(payload);
  const since = utcMinute(payload.failing_since);
  const advice =
    "No events are sent to it any more. Fix the endpoint, then enable it again (PATCH /api/v1/webhooks/{id} with enabled: true); deliveries it missed can be replayed from its delivery log.";
  return adminEmail(
    `A webhook endpoint of ${payload.tenant_name} was disabled`,
    [
      `Every delivery to the webhook endpoint ${payload.url} of the tenant ${tenant} has failed since ${since}, so it was disabled.`,
      advice,
    ],
    <>
      <p>
        Every delivery to the webhook endpoint <code>{payload.url}</code> of the tenant {tenant} has failed
        since {since}, so it was disabled.
      </p>
      <p>{advice}</p>
    </>,
  );
});
