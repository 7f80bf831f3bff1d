/**
 * What each job kind does to the tenant's namespace. Every apply is a full server-side
 * apply of the rendered set, so a redelivered or retried job converges to the same state.
 */
import {
  type JobRequest,
  type JobResponse,
  type JobResponseStatus,
  namespaceName,
  type ObjectRef,
} from "@tenantry/contract";
import type { KubeClient } from "./kube";
import type { Logger } from "./log";
import {
  type KubeObject,
  MANAGED_BY,
  OWNED_NAMESPACED_KINDS,
  ownerSelector,
  refOf,
  renderTenant,
  SUSPENDED_ANNOTATION,
  toYaml,
} from "./manifests";
import type { ProvisionerMetrics } from "./metrics";

export interface JobDeps {
  /** Absent in dry-run mode: nothing is sent to a cluster. */
  kube: KubeClient | undefined;
  metrics: ProvisionerMetrics;
  log: Logger;
}

/** The namespace exists but belongs to someone else: never adopt or delete it. */
export class OwnershipError extends Error {
  override name = "OwnershipError";
}

export async function runJob(req: JobRequest, deps: JobDeps): Promise<JobResponse> {
  const { kube, log } = deps;
  const namespace = namespaceName(req.tenant.slug);
  const done = (
    status: JobResponseStatus,
    applied: ObjectRef[] = [],
    pruned: ObjectRef[] = [],
  ): JobResponse => ({
    job_id: req.job.id,
    status,
    namespace,
    applied,
    pruned,
  });

  if (!kube) {
    if (req.job.kind === "deprovision") {
      log({ level: "info", msg: "dry_run", job_id: req.job.id, kind: req.job.kind, would_delete: namespace });
      return done("dry_run");
    }
    const objects = renderTenant(req.tenant, { suspended: req.job.kind === "suspend" });
    log({
      level: "info",
      msg: "dry_run",
      job_id: req.job.id,
      kind: req.job.kind,
      namespace,
      yaml: toYaml(objects),
    });
    return done("dry_run", objects.map(refOf));
  }

  const nsRef: ObjectRef = { apiVersion: "v1", kind: "Namespace", name: namespace };
  const live = await kube.read(nsRef);
  if (live) assertOwned(live.labels, req.tenant.id, namespace);

  if (req.job.kind === "deprovision") {
    if (!live) return done("gone");
    // Deleting a namespace that is already terminating is a 409 in Kubernetes; just wait.
    if (live.terminating) return done("terminating");
    return done((await kube.remove(nsRef)) ? "terminating" : "gone");
  }

  // suspend/resume decide; every other kind keeps what the namespace records, so a quota
  // change on a suspended tenant does not lift the suspension.
  const suspended =
    req.job.kind === "suspend" ||
    (req.job.kind !== "resume" && live?.annotations[SUSPENDED_ANNOTATION] === "true");
  const objects = renderTenant(req.tenant, { suspended });
  for (const obj of objects) {
    const stop = deps.metrics.applyDuration.startTimer({ resource: obj.kind });
    try {
      await kube.apply(obj);
    } finally {
      stop();
    }
  }
  return done("succeeded", objects.map(refOf), await prune(kube, req.tenant.id, namespace, objects));
}

/** Deletes objects carrying this tenant's owner labels that the current render no longer has. */
async function prune(kube: KubeClient, tenantId: string, namespace: string, rendered: KubeObject[]) {
  const keep = new Set(rendered.map((obj) => `${obj.kind}/${obj.metadata.name}`));
  const pruned: ObjectRef[] = [];
  for (const { apiVersion, kind } of OWNED_NAMESPACED_KINDS) {
    for (const live of await kube.list(apiVersion, kind, namespace, ownerSelector(tenantId))) {
      if (keep.has(`${kind}/${live.name}`)) continue;
      const ref = { apiVersion, kind, name: live.name, namespace };
      await kube.remove(ref);
      pruned.push(ref);
    }
  }
  return pruned;
}

function assertOwned(labels: Record<string, string>, tenantId: string, namespace: string): void {
  if (labels["managed-by"] === MANAGED_BY && labels["tenant-id"] === tenantId) return;
  const owner = labels["tenant-id"] ? `tenant ${labels["tenant-id"]}` : "something other than tenantry";
  throw new OwnershipError(`namespace ${namespace} exists and belongs to ${owner}; refusing to touch it`);
}
