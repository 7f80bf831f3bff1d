/**
 * RFC 9457 problem details as the provisioner answers every error, shaped like the Worker's
 * own (`{type, title, status, detail, code}`), so the Worker records `detail` as a job's
 * `last_error` without special cases.
 */
import { z } from "zod";

/** Each `type` is this base followed by the `code`. */
export const PROBLEM_TYPE_BASE = "https://tenantry.dev/problems/";

export const fieldErrorSchema = z.object({
  path: z.string(),
  message: z.string(),
  code: z.string(),
});

export type FieldError = z.infer<typeof fieldErrorSchema>;

export const problemSchema = z.object({
  type: z.string(),
  title: z.string(),
  status: z.number().int(),
  // Empty says nothing worth recording; the Worker then records the HTTP status instead.
  detail: z.string().min(1),
  // Any string: the Worker and the provisioner deploy separately, so the Worker must still
  // read the detail of a code a newer provisioner introduced.
  code: z.string(),
  request_id: z.string().optional(),
  /** With `validation_failed`: one entry per invalid field. */
  errors: z.array(fieldErrorSchema).optional(),
});

export type ProblemDetails = z.infer<typeof problemSchema>;
