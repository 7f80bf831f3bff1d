/**
 * `POST /v1/databases` and `DELETE /v1/databases/{ref}`: a dedicated tenant's own database,
 * created (and migrated) or dropped by the provisioner (provisioner/README.md, "Databases").
 * Both are idempotent, so the Worker may send either again after any failure.
 */
import { z } from "zod";

export const DATABASE_PROVIDERS = ["local", "neon"] as const;
export type DatabaseProviderKind = (typeof DATABASE_PROVIDERS)[number];

/** The token `kind` of each request; its `sub` and `tenant_id` are the tenant's id. */
export const CREATE_DATABASE_KIND = "create_database";
export const DROP_DATABASE_KIND = "drop_database";

/** A product region name, as the tenants table allows it (`us-east`, `eu-central`). */
export const REGION_PATTERN = /^[a-z0-9][a-z0-9-]{0,30}$/;
/** A Neon project id or a local database name. */
export const DATABASE_REF_PATTERN = /^[a-z0-9][a-z0-9_-]{0,62}$/;

const region = z.string().regex(REGION_PATTERN, "must be a region name");
const ref = z.string().regex(DATABASE_REF_PATTERN, "must be a database ref");

export const createDatabaseRequestSchema = z.strictObject({ tenant_id: z.uuid(), region });
export type CreateDatabaseRequest = z.infer<typeof createDatabaseRequestSchema>;

export const createDatabaseResponseSchema = z.object({
  provider: z.enum(DATABASE_PROVIDERS),
  ref,
  region,
  /** The runtime role's connection string (RLS binds it), never the owner's. */
  connection_string: z.string().min(1),
});
export type CreateDatabaseResponse = z.infer<typeof createDatabaseResponseSchema>;

/** The body of `DELETE /v1/databases/{ref}`: it names the ref again so the token's hash binds it. */
export const dropDatabaseRequestSchema = z.strictObject({ tenant_id: z.uuid(), ref });
export type DropDatabaseRequest = z.infer<typeof dropDatabaseRequestSchema>;

/** `gone`: there was nothing left to drop (an earlier attempt did, or it never existed). */
export const dropDatabaseResponseSchema = z.object({ ref, status: z.enum(["dropped", "gone"]) });
export type DropDatabaseResponse = z.infer<typeof dropDatabaseResponseSchema>;
