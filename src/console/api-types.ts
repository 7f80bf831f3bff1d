/** The API's response shapes, inferred from the same zod schemas that generate the OpenAPI document. */
import type { z } from "@hono/zod-openapi";
import type { ApiKeySchema, NewApiKeySchema } from "../routes/api-keys/api-keys.routes";
import type { AuditEventSchema } from "../routes/audit-events/audit-events.routes";
import type { SessionSchema } from "../routes/auth/auth.routes";
import type { InvitationSchema } from "../routes/invitations/invitations.routes";
import type { MemberSchema } from "../routes/members/members.routes";
import type { ProvisioningJobSchema } from "../routes/provisioning/provisioning.routes";
import type { CreatedTenantSchema, TenantSchema } from "../routes/tenants/tenants.routes";
import type { UsageSchema } from "../routes/tenants/usage.routes";

export interface Page<T> {
  data: T[];
  next_cursor: string | null;
}

export type Tenant = z.infer<typeof TenantSchema>;
export type CreatedTenant = z.infer<typeof CreatedTenantSchema>;
export type Usage = z.infer<typeof UsageSchema>;
export type Member = z.infer<typeof MemberSchema>;
export type Invitation = z.infer<typeof InvitationSchema>;
export type ApiKey = z.infer<typeof ApiKeySchema>;
export type NewApiKey = z.infer<typeof NewApiKeySchema>;
export type AuditEvent = z.infer<typeof AuditEventSchema>;
export type ProvisioningJob = z.infer<typeof ProvisioningJobSchema>;
export type Session = z.infer<typeof SessionSchema>;
