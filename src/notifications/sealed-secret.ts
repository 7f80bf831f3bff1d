/**
 * The one secret a notification may carry — an invitation's token, which the email's link
 * needs — is stored sealed, never in clear (services/platform/sealed.ts), bound to the row's
 * tenant and id. A reader of the table (a backup, a support query) gets no usable token; the
 * consumer opens it just before sending, and the row drops it once it is `sent` or `dead`.
 * After a MASTER_KEY rotation such a row goes `dead`, and its invitation is revoked and sent again.
 */
import { sealer } from "../services/platform/sealed";

/** The row a sealed value belongs to: authenticated with it, never part of the ciphertext. */
export type SealedFor = {
  tenantId: string;
  notificationId: string;
};

const notificationSecret = sealer<SealedFor>({
  keyInfo: "tenantry notification secret v1",
  label: "tenantry/notification-secret/v1",
  fields: ["tenantId", "notificationId"],
  noun: "the notification's secret",
});

export const sealSecret = notificationSecret.seal;
export const openSecret = notificationSecret.open;
