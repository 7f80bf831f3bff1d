/** `GET /v1/status`: the provisioner's answer to the Worker's signed ping. */
import { z } from "zod";

/** `live` applies to a cluster; `dry_run` only logs what it would apply. */
export const PROVISIONER_MODES = ["live", "dry_run"] as const;
export type ProvisionerMode = (typeof PROVISIONER_MODES)[number];

export const statusResponseSchema = z.object({
  mode: z.enum(PROVISIONER_MODES),
  /** The provisioner's package version. */
  version: z.string().min(1),
});

export type StatusResponse = z.infer<typeof statusResponseSchema>;
