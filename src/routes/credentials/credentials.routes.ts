import { z } from "@hono/zod-openapi";
import { CREDENTIAL_KINDS } from "../../db/schema";
import { utf8 } from "../../lib/encoding";
import { jsonContent } from "../../lib/openapi";
import { crudRoutes } from "../crud-routes";
import { defineRoute } from "../route-table";
import { IdParam, tenantSecurity } from "../schemas";

const MAX_VALUE_BYTES = 64 * 1024;

const CredentialKind = z.enum(CREDENTIAL_KINDS).openapi("CredentialKind");

// Kept byte for byte (no trimming): whitespace can be part of a secret.
const SecretValue = z
  .string()
  .min(1)
  // Every UTF-16 unit is at least one UTF-8 byte: a cheap bound before measuring bytes.
  .max(MAX_VALUE_BYTES, { abort: true })
  .refine((value) => utf8(value).byteLength <= MAX_VALUE_BYTES, {
    message: `Must be at most ${MAX_VALUE_BYTES} bytes of UTF-8`,
  })
  .openapi({ writeOnly: true, description: "The secret; encrypted at rest, returned only by reveal" });

const RevealedCredentialSchema = z
  .object({ id: z.uuid(), name: z.string(), kind: CredentialKind, value: z.string() })
  .openapi("RevealedCredential");

export const { list, create, getOne, remove, schemas } = crudRoutes({
  collection: "credentials",
  singular: "Credential",
  reader: "member",
  answer: {
    kind: CredentialKind,
    created_by: z.uuid().nullable().openapi({ description: "The user who stored it; null for an API key" }),
  },
  fields: { kind: CredentialKind, value: SecretValue },
});

export const reveal = defineRoute({
  access: { kind: "tenant", role: "admin" },
  feature: "credentials",
  method: "post",
  path: "/api/v1/credentials/{id}/reveal",
  operationId: "revealCredential",
  summary: "Decrypt and return a credential's value (always audited)",
  tags: ["credentials"],
  security: tenantSecurity,
  request: { params: IdParam },
  problems: ["not_found"],
  responses: { 200: jsonContent(RevealedCredentialSchema, "The credential with its plaintext value") },
});
