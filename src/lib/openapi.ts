/** Shared OpenAPI pieces: the problem+json schema and the error responses built from problem codes. */
import { z } from "@hono/zod-openapi";
import { PROBLEM_CODES, type ProblemCode } from "./problem";

export const ProblemSchema = z
  .object({
    type: z.string(),
    title: z.string(),
    status: z.number().int(),
    detail: z.string(),
    code: z.enum(Object.keys(PROBLEM_CODES) as [ProblemCode]),
    request_id: z.string().optional(),
    errors: z.array(z.object({ path: z.string(), message: z.string(), code: z.string() })).optional(),
    // RFC 9457 extension members, each carried by one code.
    feature: z
      .string()
      .optional()
      .openapi({ description: "`feature_disabled`: the plan feature that is off" }),
    quota: z.string().optional().openapi({ description: "`quota_exceeded`: the quota that is used up" }),
    limit: z.number().int().optional().openapi({ description: "`quota_exceeded`: the tenant's limit" }),
    used: z.number().int().optional().openapi({ description: "`quota_exceeded`: how much is used" }),
    policies: z
      .array(z.string())
      .optional()
      .openapi({ description: "`rate_limited`: the rate-limit policies refused (`tenant`, `api-key`, …)" }),
  })
  .openapi("Problem");

const problemContent = { "application/problem+json": { schema: ProblemSchema } };

export interface ProblemResponse {
  description: string;
  content: typeof problemContent;
}

/**
 * One problem+json response per status the codes answer with, each referencing the shared
 * `Problem` schema and naming the codes a client may meet under it.
 */
export function problemResponses(codes: Iterable<ProblemCode>): Record<number, ProblemResponse> {
  const byStatus = new Map<number, ProblemCode[]>();
  for (const code of new Set(codes)) {
    const { status } = PROBLEM_CODES[code];
    byStatus.set(status, [...(byStatus.get(status) ?? []), code]);
  }
  const out: Record<number, ProblemResponse> = {};
  for (const [status, list] of [...byStatus].sort(([a], [b]) => a - b)) {
    const named = list.map((code) => `\`${code}\``);
    const description = named.length > 1 ? `${named.slice(0, -1).join(", ")} or ${named.at(-1)}` : named[0];
    out[status] = { description: `Problem ${description}`, content: problemContent };
  }
  return out;
}

export function jsonContent<T extends z.ZodType>(schema: T, description: string) {
  return { description, content: { "application/json": { schema } } };
}

/** A required JSON request body of this schema (an empty body is read as `{}`: see json-body.ts). */
export function jsonRequest<T extends z.ZodType>(schema: T) {
  return { required: true as const, content: { "application/json": { schema } } };
}
