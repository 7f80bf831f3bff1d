/** Every template a notification row may name, and turning a row into the email to send. */
import { z } from "zod";
import type { notifications } from "../db/schema";
import { apiKeyExpiringEmail } from "./api-key-expiring-email";
import type { EmailTemplate } from "./email-template";
import { invitationEmail } from "./invitation-email";
import type { OutgoingEmail } from "./smtp";
import { tenantLifecycleEmail } from "./tenant-lifecycle-email";
import { webhookDisabledEmail } from "./webhook-disabled-email";

const TEMPLATES = {
  invitation: invitationEmail,
  tenant_lifecycle: tenantLifecycleEmail,
  api_key_expiring: apiKeyExpiringEmail,
  webhook_disabled: webhookDisabledEmail,
} as const satisfies Record<string, EmailTemplate>;

export type TemplateName = keyof typeof TEMPLATES;

/** A row that can never be sent as it is: retrying does not help. */
export class UnsendableNotification extends Error {
  override name = "UnsendableNotification";
}

type Row = Pick<typeof notifications.$inferSelect, "id" | "channel" | "recipient" | "template" | "payload">;

/** The email a row stands for; `secret` is its opened sealed value, if it has one. */
export async function composeEmail(row: Row, secret: string | undefined): Promise<OutgoingEmail> {
  if (row.channel !== "email")
    throw new UnsendableNotification(`the ${row.channel} channel is not served yet`);
  if (!z.email().safeParse(row.recipient).success) {
    throw new UnsendableNotification("the recipient is not an email address");
  }
  if (!Object.hasOwn(TEMPLATES, row.template)) {
    throw new UnsendableNotification(`no email template "${row.template}"`);
  }
  const render = TEMPLATES[row.template as TemplateName];
  try {
    return { id: row.id, to: row.recipient, ...(await render(row.payload, secret)) };
  } catch (err) {
    throw new UnsendableNotification(err instanceof Error ? err.message : String(err));
  }
}
