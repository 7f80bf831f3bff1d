/**
 * What a tenant's admins are told when its lifecycle changes: suspended (with the reason),
 * reactivated, or deleted with the date its data will be purged. The rows are written by the
 * change's own batch (`services/tenancy/tenants.ts`), one per admin.
 */
import { z } from "zod";
import { adminEmail, emailTemplate, tenantFields, tenantLabel, utcMinute } from "./email-template";

export const TENANT_LIFECYCLE_EVENTS = ["suspended", "reactivated", "deletion_scheduled"] as const;
export type TenantLifecycleEvent = (typeof TENANT_LIFECYCLE_EVENTS)[number];

export const tenantLifecyclePayload = z.object({
  event: z.enum(TENANT_LIFECYCLE_EVENTS),
  ...tenantFields,
  /** Why it was suspended, if the operator said. */
  reason: z.string().nullable().optional(),
  /** When a deleted tenant's data is purged. */
  purge_after: z.iso.datetime().optional(),
});

export const tenantLifecycleEmail = emailTemplate(tenantLifecyclePayload, async (payload) => {
  const { subject, lines } = describe(payload, tenantLabel(payload));
  return adminEmail(
    subject,
    lines,
    lines.map((paragraph) => <p>{paragraph}</p>),
  );
});

function describe(
  payload: z.infer<typeof tenantLifecyclePayload>,
  tenant: string,
): { subject: string; lines: string[] } {
  switch (payload.event) {
    case "suspended":
      return {
        subject: `${payload.tenant_name} is suspended on Tenantry`,
        lines: [
          `The tenant ${tenant} was suspended by an operator.`,
          ...(payload.reason ? [`Reason given: ${payload.reason}`] : []),
          "Its members and API keys are refused (403 tenant_suspended) until it is reactivated; its data is kept.",
        ],
      };
    case "reactivated":
      return {
        subject: `${payload.tenant_name} is active again on Tenantry`,
        lines: [`The tenant ${tenant} was reactivated: its members and API keys work again.`],
      };
    case "deletion_scheduled": {
      if (!payload.purge_after) throw new Error("a deletion email needs its purge date");
      return {
        subject: `${payload.tenant_name} was deleted on Tenantry`,
        lines: [
          `The tenant ${tenant} was deleted. Its members and API keys no longer work.`,
          `Its data is kept until ${utcMinute(payload.purge_after)} and purged after that; until then an operator can restore it.`,
        ],
      };
    }
  }
}
