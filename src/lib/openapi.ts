/** Shared OpenAPI pieces: the problem+json schema and the error responses every route may give. */
import { z } from "@hono/zod-openapi";
import { PROBLEM_CODES } from "./problem";

export const ProblemSchema = z
  .object({
    type: z.string(),
    title: z.string(),
    status: z.number().int(),
    detail: z.string(),
    code: z.enum(Object.keys(PROBLEM_CODES) as [keyof typeof PROBLEM_CODES]),
    request_id: z.string().optional(),
    errors: z.array(z.object({ path: z.string(), message: z.string(), code: z.string() })).optional(),
  })
  .openapi("Problem");

const problemContent = { "application/problem+json": { schema: ProblemSchema } };

export function problemResponses(...statuses: number[]) {
  const out: Record<number, { description: string; content: typeof problemContent }> = {};
  for (const status of [...statuses, 500]) {
    out[status] = { description: describeStatus(status), content: problemContent };
  }
  return out;
}

function describeStatus(status: number): string {
  const titles = Object.values(PROBLEM_CODES)
    .filter((p) => p.status === status)
    .map((p) => p.title);
  return titles.length > 0 ? titles.join(" / ") : "Error";
}

export function jsonContent<T extends z.ZodType>(schema: T, description: string) {
  return { description, content: { "application/json": { schema } } };
}
