/**
 * Calls to the provisioner (provisioner/README.md "HTTP API"), each with a token bound to
 * its exact request (job-token.ts). Every way a call can end becomes a value, never an
 * exception: `postJob` gives an answer the consumer records as the job's result or an error
 * text it records as `last_error`; `pingProvisioner` tells the operator status endpoint
 * whether the provisioner answers, in which mode, and which version it runs.
 */
import {
  type JobRequest,
  type JobResponse,
  jobResponseSchema,
  type ProvisionerMode,
  problemSchema,
  statusResponseSchema,
} from "@tenantry/contract";
import type { Config } from "../env";
import { signJobToken, signPingToken } from "./job-token";

/** Above the provisioner's own 10 s Kubernetes budget, so its 504 arrives before we give up. */
const REQUEST_TIMEOUT_MS = 15_000;
/** A status page must not hang on a provisioner that does not answer. */
const PING_TIMEOUT_MS = 2_000;

export type CallOutcome =
  | { ok: true; answer: JobResponse }
  /** `status` is null when no HTTP answer arrived (network error, timeout). */
  | { ok: false; status: number | null; error: string };

/** 400/413: the request itself is wrong, so sending it again cannot help. */
export function isPermanent(outcome: CallOutcome): boolean {
  return !outcome.ok && (outcome.status === 400 || outcome.status === 413);
}

type ProvisionerConfig = Pick<Config, "PROVISIONER_URL" | "PROVISIONER_SECRET">;

export async function postJob(config: ProvisionerConfig, request: JobRequest): Promise<CallOutcome> {
  // Serialised once: the token is signed over exactly these bytes.
  const body = JSON.stringify(request);
  const token = await signJobToken(config.PROVISIONER_SECRET, request, body);
  let res: Response;
  try {
    res = await fetch(endpoint(config, "/v1/jobs"), {
      method: "POST",
      headers: { authorization: `Bearer ${token}`, "content-type": "application/json" },
      body,
      signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS),
    });
  } catch (err) {
    const reason = err instanceof Error && err.name === "TimeoutError" ? "timed out" : describe(err);
    return { ok: false, status: null, error: `provisioner unreachable: ${reason}` };
  }
  const answer = await res.json().catch(() => undefined);
  if (res.ok) {
    const parsed = jobResponseSchema.safeParse(answer);
    if (parsed.success && parsed.data.job_id === request.job.id) return { ok: true, answer: parsed.data };
    return { ok: false, status: res.status, error: "the provisioner's answer does not describe this job" };
  }
  return { ok: false, status: res.status, error: problemDetail(res.status, answer) };
}

export interface ProvisionerStatus {
  /** True only when the provisioner answered the signed ping; `mode` and `version` are then set. */
  reachable: boolean;
  mode: ProvisionerMode | null;
  version: string | null;
  /** Why it is not reachable: unreachable, timed out, refused the ping, or answered nonsense. */
  error?: string;
}

/**
 * `GET /v1/status` with a ping token (kind `ping`, the hash of an empty body). A provisioner
 * that refuses the token (another PROVISIONER_SECRET) is as useless as one that is down, so
 * it counts as not reachable, with the reason in `error`. Never throws; gives up after 2 s.
 */
export async function pingProvisioner(config: ProvisionerConfig): Promise<ProvisionerStatus> {
  const down = (error: string): ProvisionerStatus => ({ reachable: false, mode: null, version: null, error });
  try {
    const token = await signPingToken(config.PROVISIONER_SECRET);
    const res = await fetch(endpoint(config, "/v1/status"), {
      headers: { authorization: `Bearer ${token}` },
      signal: AbortSignal.timeout(PING_TIMEOUT_MS),
    });
    const body = await res.json().catch(() => undefined);
    if (!res.ok) return down(`the provisioner refused the ping: ${problemDetail(res.status, body)}`);
    const parsed = statusResponseSchema.safeParse(body);
    if (!parsed.success) return down("the provisioner's status answer is not understood");
    return { reachable: true, mode: parsed.data.mode, version: parsed.data.version };
  } catch (err) {
    const reason = err instanceof Error && err.name === "TimeoutError" ? "timed out" : describe(err);
    return down(`provisioner unreachable: ${reason}`);
  }
}

function endpoint(config: ProvisionerConfig, path: string): string {
  return `${config.PROVISIONER_URL.replace(/\/+$/, "")}${path}`;
}

/** The provisioner's problem+json `detail` (what went wrong at Kubernetes), else its status. */
function problemDetail(status: number, body: unknown): string {
  const problem = problemSchema.safeParse(body);
  return problem.success ? problem.data.detail : `the provisioner answered HTTP ${status}`;
}

function describe(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
