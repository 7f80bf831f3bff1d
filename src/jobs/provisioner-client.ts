/**
 * Calls to the provisioner (provisioner/README.md "HTTP API"), each with a token bound to
 * its exact request (job-token.ts). Every way a call can end becomes a value, never an
 * exception: `postJob` gives an answer the consumer records as the job's result or an error
 * text it records as `last_error`; `pingProvisioner` tells the operator status endpoint
 * whether the provisioner answers, in which mode, and which version it runs;
 * `createTenantDatabase` / `dropTenantDatabase` ask for a dedicated tenant's own database
 * (both idempotent, so a failed call is simply sent again).
 */
import {
  CREATE_DATABASE_KIND,
  type CreateDatabaseRequest,
  type CreateDatabaseResponse,
  createDatabaseResponseSchema,
  DROP_DATABASE_KIND,
  type DropDatabaseRequest,
  type DropDatabaseResponse,
  dropDatabaseResponseSchema,
  type JobRequest,
  type JobResponse,
  jobResponseSchema,
  type ProvisionerMode,
  problemSchema,
  statusResponseSchema,
} from "@tenantry/contract";
import type { Config } from "../env";
import { signDatabaseToken, signJobToken, signPingToken } from "./job-token";

/** Above the provisioner's own 10 s Kubernetes budget, so its 504 arrives before we give up. */
const REQUEST_TIMEOUT_MS = 15_000;
/** A status page must not hang on a provisioner that does not answer. */
const PING_TIMEOUT_MS = 2_000;
/** Above the provisioner's 60 s wait for a new Neon project plus its migrations. */
const DATABASE_TIMEOUT_MS = 120_000;

export type CallOutcome =
  | { ok: true; answer: JobResponse }
  /** `status` is null when no HTTP answer arrived (network error, timeout). */
  | { ok: false; status: number | null; error: string };

/** 400/413: the request itself is wrong, so sending it again cannot help. */
export function isPermanent(outcome: CallOutcome): boolean {
  return !outcome.ok && (outcome.status === 400 || outcome.status === 413);
}

/** A call that did not end in an answer that was understood. */
export type CallFailure = Extract<CallOutcome, { ok: false }>;

export type DatabaseOutcome<T> = { ok: true; database: T } | CallFailure;

type ProvisionerConfig = Pick<Config, "PROVISIONER_URL" | "PROVISIONER_SECRET">;

export async function postJob(config: ProvisionerConfig, request: JobRequest): Promise<CallOutcome> {
  // Serialised once: the token is signed over exactly these bytes.
  const body = JSON.stringify(request);
  const token = await signJobToken(config.PROVISIONER_SECRET, request, body);
  const sent = await send(config, "POST", "/v1/jobs", token, body, REQUEST_TIMEOUT_MS);
  if (!sent.ok) return sent;
  const parsed = jobResponseSchema.safeParse(sent.answer);
  if (parsed.success && parsed.data.job_id === request.job.id) return { ok: true, answer: parsed.data };
  return { ok: false, status: sent.status, error: "the provisioner's answer does not describe this job" };
}

/**
 * `POST /v1/databases`: the tenant's dedicated database in `region`, migrated, answered with
 * the runtime role's connection string (a secret: seal it before storing it). Sending it again
 * answers the same database.
 */
export async function createTenantDatabase(
  config: ProvisionerConfig,
  input: { tenantId: string; region: string },
): Promise<DatabaseOutcome<CreateDatabaseResponse>> {
  const request: CreateDatabaseRequest = { tenant_id: input.tenantId, region: input.region };
  const body = JSON.stringify(request);
  const token = await signDatabaseToken(
    config.PROVISIONER_SECRET,
    { kind: CREATE_DATABASE_KIND, tenantId: input.tenantId },
    body,
  );
  const sent = await send(config, "POST", "/v1/databases", token, body, DATABASE_TIMEOUT_MS);
  if (!sent.ok) return sent;
  const parsed = createDatabaseResponseSchema.safeParse(sent.answer);
  if (parsed.success && parsed.data.region === input.region) return { ok: true, database: parsed.data };
  return {
    ok: false,
    status: sent.status,
    error: "the provisioner's answer does not describe this database",
  };
}

/** `DELETE /v1/databases/{ref}`: `dropped`, or `gone` when nothing was left to drop. */
export async function dropTenantDatabase(
  config: ProvisionerConfig,
  input: { tenantId: string; ref: string },
): Promise<DatabaseOutcome<DropDatabaseResponse>> {
  const request: DropDatabaseRequest = { tenant_id: input.tenantId, ref: input.ref };
  const body = JSON.stringify(request);
  const token = await signDatabaseToken(
    config.PROVISIONER_SECRET,
    { kind: DROP_DATABASE_KIND, tenantId: input.tenantId },
    body,
  );
  const path = `/v1/databases/${encodeURIComponent(input.ref)}`;
  const sent = await send(config, "DELETE", path, token, body, DATABASE_TIMEOUT_MS);
  if (!sent.ok) return sent;
  const parsed = dropDatabaseResponseSchema.safeParse(sent.answer);
  if (parsed.success && parsed.data.ref === input.ref) return { ok: true, database: parsed.data };
  return {
    ok: false,
    status: sent.status,
    error: "the provisioner's answer does not describe this database",
  };
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

/** One signed JSON request; a 2xx answer's body, or why there is none. */
async function send(
  config: ProvisionerConfig,
  method: string,
  path: string,
  token: string,
  body: string,
  timeoutMs: number,
): Promise<{ ok: true; status: number; answer: unknown } | CallFailure> {
  let res: Response;
  try {
    res = await fetch(endpoint(config, path), {
      method,
      headers: { authorization: `Bearer ${token}`, "content-type": "application/json" },
      body,
      signal: AbortSignal.timeout(timeoutMs),
    });
  } catch (err) {
    const reason = err instanceof Error && err.name === "TimeoutError" ? "timed out" : describe(err);
    return { ok: false, status: null, error: `provisioner unreachable: ${reason}` };
  }
  const answer = await res.json().catch(() => undefined);
  if (!res.ok) return { ok: false, status: res.status, error: problemDetail(res.status, answer) };
  return { ok: true, status: res.status, answer };
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
