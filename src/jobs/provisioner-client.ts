/**
 * `POST /v1/jobs` to the provisioner (provisioner/README.md "HTTP API"). Every way the call
 * can end becomes a value, never an exception: an answer the consumer records as the job's
 * result, or an error text it records as `last_error`.
 */
import { z } from "zod";
import type { JobKind, Plan } from "../db/schema";
import type { Config } from "../env";
import type { Quotas } from "../services/plans";
import { signJobToken } from "./job-token";

/** Above the provisioner's own 10 s Kubernetes budget, so its 504 arrives before we give up. */
const REQUEST_TIMEOUT_MS = 15_000;

export interface JobRequest {
  job: { id: string; kind: JobKind; attempt: number };
  tenant: {
    id: string;
    slug: string;
    plan: Plan;
    quotas: Pick<Quotas, "cpu_cores" | "memory_gb" | "storage_gb" | "gpus">;
  };
}

const objectRef = z.object({
  apiVersion: z.string(),
  kind: z.string(),
  name: z.string(),
  namespace: z.string().optional(),
});

const answerSchema = z.object({
  job_id: z.string(),
  status: z.enum(["succeeded", "dry_run", "terminating", "gone"]),
  namespace: z.string(),
  applied: z.array(objectRef),
  pruned: z.array(objectRef),
});

export type ProvisionerAnswer = z.infer<typeof answerSchema>;

export type CallOutcome =
  | { ok: true; answer: ProvisionerAnswer }
  /** `status` is null when no HTTP answer arrived (network error, timeout). */
  | { ok: false; status: number | null; error: string };

/** 400/413: the request itself is wrong, so sending it again cannot help. */
export function isPermanent(outcome: CallOutcome): boolean {
  return !outcome.ok && (outcome.status === 400 || outcome.status === 413);
}

export async function postJob(
  config: Pick<Config, "PROVISIONER_URL" | "PROVISIONER_SECRET">,
  request: JobRequest,
): Promise<CallOutcome> {
  const token = await signJobToken(config.PROVISIONER_SECRET, request.job);
  let res: Response;
  try {
    res = await fetch(`${config.PROVISIONER_URL.replace(/\/+$/, "")}/v1/jobs`, {
      method: "POST",
      headers: { authorization: `Bearer ${token}`, "content-type": "application/json" },
      body: JSON.stringify(request),
      signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS),
    });
  } catch (err) {
    const reason = err instanceof Error && err.name === "TimeoutError" ? "timed out" : describe(err);
    return { ok: false, status: null, error: `provisioner unreachable: ${reason}` };
  }
  const body = await res.json().catch(() => undefined);
  if (res.ok) {
    const parsed = answerSchema.safeParse(body);
    if (parsed.success && parsed.data.job_id === request.job.id) return { ok: true, answer: parsed.data };
    return { ok: false, status: res.status, error: "the provisioner's answer does not describe this job" };
  }
  return { ok: false, status: res.status, error: problemDetail(res.status, body) };
}

/** The provisioner's problem+json `detail` (what went wrong at Kubernetes), else its status. */
function problemDetail(status: number, body: unknown): string {
  const problem = z.object({ detail: z.string().min(1), code: z.string().optional() }).safeParse(body);
  return problem.success ? problem.data.detail : `the provisioner answered HTTP ${status}`;
}

function describe(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
