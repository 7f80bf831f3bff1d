/**
 * The API's response shapes as its clients see them: the types @tenantry/client generates
 * from the OpenAPI document (which the routes' zod schemas produce).
 */
import type { Schemas } from "../../clients/typescript/src/index";

export interface Page<T> {
  data: T[];
  next_cursor: string | null;
}

export type Tenant = Schemas["Tenant"];
export type CreatedTenant = Schemas["CreatedTenant"];
export type Usage = Schemas["TenantUsage"];
export type TenantDailyUsage = Schemas["TenantDailyUsage"];
export type Member = Schemas["Member"];
export type Invitation = Schemas["Invitation"];
export type ApiKey = Schemas["ApiKey"];
export type NewApiKey = Schemas["NewApiKey"];
export type AuditEvent = Schemas["AuditEvent"];
export type ProvisioningJob = Schemas["ProvisioningJob"];
export type Session = Schemas["Session"];
export type SystemStatus = Schemas["SystemStatus"];
export type WebhookEndpoint = Schemas["WebhookEndpoint"];
/** A created endpoint or a rotated one: the only answers that carry the signing secret. */
export type WebhookEndpointWithSecret = Schemas["NewWebhookEndpoint"] | Schemas["RotatedWebhookEndpoint"];
export type WebhookDelivery = Schemas["WebhookDelivery"];
