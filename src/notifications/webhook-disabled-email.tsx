/** The email to a tenant's admins when one of its webhook endpoints was disabled for failing. */
import { z } from "zod";
import { emailTemplate, renderHtml, subjectLine, utcMinute } from "./email-template";

export const webhookDisabledPayload = z.object({
  tenant_name: z.string(),
  tenant_slug: z.string(),
  endpoint_id: z.uuid(),
  url: z.string(),
  failing_since: z.iso.datetime(),
});

export const webhookDisabledEmail = emailTemplate(webhookDisabledPayload, async (payload) => {
  const tenant = `${payload.tenant_name} (${payload.tenant_slug})`;
  const since = utcMinute(payload.failing_since);
  const subject = subjectLine(`A webhook endpoint of ${payload.tenant_name} was disabled`);
  const advice =
    "No events are sent to it any more. Fix the endpoint, then enable it again (PATCH /api/v1/webhooks/{id} with enabled: true); deliveries it missed can be replayed from its delivery log.";
  const text = [
    `Every delivery to the webhook endpoint ${payload.url} of the tenant ${tenant} has failed since ${since}, so it was disabled.`,
    advice,
    "",
    "You get this email as an admin of the tenant.",
  ].join("\n");
  const html = await renderHtml(
    subject,
    <>
      <p>
        Every delivery to the webhook endpoint <code>{payload.url}</code> of the tenant {tenant} has failed
        since {since}, so it was disabled.
      </p>
      <p>{advice}</p>
      <p>You get this email as an admin of the tenant.</p>
    </>,
  );
  return { subject, text, html };
});
