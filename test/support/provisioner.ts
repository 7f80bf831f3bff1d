/**
 * Test helpers for the provisioning pipeline: the control endpoint of the fake Kubernetes
 * API (test/provisioner-stack.ts, on Node) seen from inside workerd, the dry-run provisioner
 * next to the real one, job fixtures, direct calls of the Worker's `queue()`/`scheduled()`
 * and polling for an outcome.
 */
import {
  createExecutionContext,
  createMessageBatch,
  createScheduledController,
  getQueueResult,
  waitOnExecutionContext,
} from "cloudflare:test";
import { env } from "cloudflare:workers";
import type { Pool } from "@neondatabase/serverless";
import { vi } from "vitest";
import worker from "../../src/index";

interface RecordedRequest {
  method: string;
  path: string;
  query: Record<string, string>;
  body: unknown;
}

export interface KubeObject {
  apiVersion: string;
  kind: string;
  metadata: {
    name: string;
    namespace?: string;
    labels?: Record<string, string>;
    annotations?: Record<string, string>;
  };
  spec?: Record<string, unknown>;
  status?: Record<string, unknown>;
}

async function control<T>(method: string, path: string, body?: unknown): Promise<T> {
  const res = await fetch(`${env.TEST_PROVISIONER_CONTROL_URL}${path}`, {
    method,
    ...(body === undefined
      ? {}
      : { headers: { "content-type": "application/json" }, body: JSON.stringify(body) }),
  });
  if (!res.ok) throw new Error(`control ${method} ${path}: ${res.status} ${await res.text()}`);
  return (await res.json()) as T;
}

/** The fake Kubernetes API, one namespace at a time. */
export const kube = {
  requests: (ns: string) => control<RecordedRequest[]>("GET", `/namespaces/${ns}/requests`),
  objects: (ns: string) => control<KubeObject[]>("GET", `/namespaces/${ns}/objects`),
  fail: (ns: string, fault: { status?: number; hang?: boolean; times?: number } = {}) =>
    control("POST", `/namespaces/${ns}/faults`, fault),
  heal: (ns: string) => control("DELETE", `/namespaces/${ns}/faults`),
  finishTermination: (ns: string) => control("POST", `/namespaces/${ns}/finish-termination`),
  /** The provisioners' log lines about one job (one per answered request). */
  jobLog: (jobId: string) => control<Array<Record<string, unknown>>>("GET", `/jobs?job_id=${jobId}`),
};

/** A second provisioner started with dryRun (PROVISIONER_MODE=dry-run), pointed at the same fake. */
export async function dryRunProvisionerUrl(): Promise<string> {
  return (await control<{ url: string }>("GET", "/dry-run-provisioner")).url;
}

/** A URL whose server accepts connections and never answers. */
export const hangingProvisionerUrl = () => `${env.TEST_PROVISIONER_CONTROL_URL}/hang`;

export interface JobRow {
  id: string;
  tenant_id: string;
  kind: string;
  status: string;
  attempts: number;
  last_error: string | null;
  result: Record<string, unknown> | null;
  sent_at: Date | null;
  completed_at: Date | null;
  created_at: Date;
  updated_at: Date;
}

/** An outbox row written directly, as a lifecycle change would, but not sent to the queue. */
export async function insertJob(
  pool: Pool,
  tenantId: string,
  kind: string,
  fields: Record<string, unknown> = {},
) {
  const columns = ["tenant_id", "kind", ...Object.keys(fields)];
  const values = [tenantId, kind, ...Object.values(fields)];
  const { rows } = await pool.query<JobRow>(
    `insert into provisioning_jobs (${columns.join(", ")}) values (${columns.map((_, i) => `$${i + 1}`).join(", ")}) returning *`,
    values,
  );
  return rows[0] as JobRow;
}

export async function jobRow(pool: Pool, id: string): Promise<JobRow | undefined> {
  const { rows } = await pool.query<JobRow>("select * from provisioning_jobs where id = $1", [id]);
  return rows[0];
}

let messageCounter = 0;

/** One delivery of `{jobId}` to the Worker's `queue()`, as the n-th attempt of its message. */
export async function deliver(
  jobId: string,
  opts: { attempts?: number; env?: Record<string, unknown> } = {},
) {
  messageCounter += 1;
  const batch = createMessageBatch("tenantry-provisioning", [
    { id: `test-${messageCounter}`, timestamp: new Date(), attempts: opts.attempts ?? 1, body: { jobId } },
  ]);
  // The test harness records that a message was retried but not its options: spy on them.
  const retry = vi.spyOn(batch.messages[0] as Message, "retry");
  const ctx = createExecutionContext();
  await worker.queue(batch as MessageBatch<{ jobId: string }>, { ...env, ...opts.env }, ctx);
  const result = await getQueueResult(batch, ctx);
  return {
    acked: result.explicitAcks.length === 1,
    retried: result.retryMessages.length === 1,
    delaySeconds: retry.mock.calls[0]?.[0]?.delaySeconds,
  };
}

/** A queue binding that records what would have been sent, for cron tests that drive the consumer themselves. */
export function capturingQueue() {
  const sent: string[] = [];
  const queue = {
    send: async (body: { jobId: string }) => {
      sent.push(body.jobId);
    },
    sendBatch: async (messages: Iterable<{ body: { jobId: string } }>) => {
      for (const m of messages) sent.push(m.body.jobId);
    },
  };
  return { sent, queue: queue as unknown as Queue };
}

/** Runs the Worker's `scheduled()` for one cron expression, with optional binding overrides. */
export async function runCron(cron: string, overrides: Record<string, unknown> = {}): Promise<void> {
  const ctx = createExecutionContext();
  await worker.scheduled(
    createScheduledController({ cron, scheduledTime: Date.now() }),
    { ...env, ...overrides },
    ctx,
  );
  await waitOnExecutionContext(ctx);
}

/** Polls until `probe` returns something other than undefined (real time passes: queue delivery, retries). */
export async function eventually<T>(probe: () => Promise<T | undefined>, timeoutMs = 20_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`condition not met within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 100));
  }
}
