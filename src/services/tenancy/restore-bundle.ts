/**
 * What an export carries for a restore and nothing else may read: the tenant's API key hashes,
 * its data key (still wrapped under MASTER_KEY), and its webhook endpoints with their encrypted
 * signing secrets. The bundle is one `{"type": "sealed"}` line, sealed under a MASTER_KEY
 * subkey with the exported tenant's id as additional data: only the deployment that made it
 * opens it, and only as that tenant's (services/platform/sealed.ts).
 */
import { z } from "zod";
import { sealer } from "../platform/sealed";

export const BUNDLE_VERSION = 1;

const timestamp = z.iso.datetime().nullable();

export const restoreBundleSchema = z.object({
  v: z.literal(BUNDLE_VERSION),
  tenant_id: z.uuid(),
  tenant_key: z
    .object({ wrapped_key: z.string(), wrap_iv: z.string(), master_key_id: z.string() })
    .nullable(),
  api_keys: z.array(
    z.object({
      id: z.uuid(),
      name: z.string(),
      role: z.enum(["admin", "member", "viewer"]),
      prefix: z.string(),
      key_hash: z.string(),
      previous_key_hash: z.string().nullable(),
      previous_expires_at: timestamp,
      rate_limit_per_hour: z.number().int().nullable(),
      created_by: z.uuid().nullable(),
      last_used_at: timestamp,
      expires_at: timestamp,
      revoked_at: timestamp,
      created_at: z.iso.datetime(),
    }),
  ),
  webhook_endpoints: z.array(
    z.object({
      id: z.uuid(),
      url: z.string(),
      description: z.string().nullable(),
      events: z.array(z.string()),
      enabled: z.boolean(),
      secret_ciphertext: z.string(),
      secret_iv: z.string(),
      previous_secret_ciphertext: z.string().nullable(),
      previous_secret_iv: z.string().nullable(),
      previous_secret_expires_at: timestamp,
      failing_since: timestamp,
      disabled_reason: z.string().nullable(),
      created_at: z.iso.datetime(),
      updated_at: z.iso.datetime(),
    }),
  ),
});

export type RestoreBundle = z.infer<typeof restoreBundleSchema>;

const bundleSealer = sealer<{ tenantId: string }>({
  keyInfo: "tenantry restore bundle v1",
  label: "tenantry/restore-bundle/v1",
  fields: ["tenantId"],
  noun: "the export's restore bundle",
});

export function sealBundle(masterKey: string, bundle: RestoreBundle): Promise<string> {
  return bundleSealer.seal(masterKey, { tenantId: bundle.tenant_id }, JSON.stringify(bundle));
}

/** Throws `DecryptionError` for a bundle of another deployment, another tenant, or altered. */
export async function openBundle(
  masterKey: string,
  tenantId: string,
  sealed: string,
): Promise<RestoreBundle> {
  const plain = await bundleSealer.open(masterKey, { tenantId }, sealed);
  return restoreBundleSchema.parse(JSON.parse(plain));
}
