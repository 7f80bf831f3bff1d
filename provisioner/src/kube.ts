/**
 * The provisioner's only door to Kubernetes: server-side apply, read, list, delete and a
 * readiness probe over @kubernetes/client-node, with every failure turned into a
 * `KubernetesError` (or `KubernetesTimeoutError`) that carries the API server's message.
 */
import { AsyncLocalStorage } from "node:async_hooks";
import {
  ApiException,
  createConfiguration,
  Health,
  type KubeConfig,
  type KubernetesObject,
  KubernetesObjectApi,
  loadYaml,
  PatchStrategy,
  ServerConfiguration,
} from "@kubernetes/client-node";
import type { ObjectRef } from "@tenantry/contract";
import type { KubeObject } from "./manifests";

export const FIELD_MANAGER = "tenantry-provisioner";

/** The parts of a live object the jobs act on, independent of client-node's model classes. */
export interface LiveObject {
  name: string;
  labels: Record<string, string>;
  annotations: Record<string, string>;
  terminating: boolean;
}

export interface KubeClient {
  apply(obj: KubeObject): Promise<void>;
  read(ref: ObjectRef): Promise<LiveObject | undefined>;
  list(apiVersion: string, kind: string, namespace: string, labelSelector: string): Promise<LiveObject[]>;
  /** Resolves false when the object was already gone. */
  remove(ref: ObjectRef): Promise<boolean>;
  ready(timeoutMs: number): Promise<boolean>;
}

export class KubernetesError extends Error {
  constructor(
    readonly operation: string,
    readonly status: number | undefined,
    readonly reason: string | undefined,
    message: string,
  ) {
    const code = [status, reason].filter(Boolean).join(" ");
    super(code ? `${operation}: ${code}: ${message}` : `${operation}: ${message}`);
    this.name = "KubernetesError";
  }
}

export class KubernetesTimeoutError extends Error {
  constructor(
    readonly operation: string,
    readonly timeoutMs: number,
  ) {
    super(`${operation}: no answer from the Kubernetes API within ${timeoutMs} ms`);
    this.name = "KubernetesTimeoutError";
  }
}

interface Deadline {
  signal: AbortSignal;
  timeoutMs: number;
}

// client-node offers no per-call abort signal that also covers its discovery requests, so
// the deadline of the job in progress travels through async context to a middleware.
const deadline = new AsyncLocalStorage<Deadline>();

/** Runs `fn` with every Kubernetes request it makes aborted once `timeoutMs` have passed. */
export function withDeadline<T>(timeoutMs: number, fn: () => Promise<T>): Promise<T> {
  return deadline.run({ signal: AbortSignal.timeout(timeoutMs), timeoutMs }, fn);
}

export function createKubeClient(kc: KubeConfig): KubeClient {
  const cluster = kc.getCurrentCluster();
  if (!cluster) throw new Error("the kubeconfig has no current cluster");
  const api = new KubernetesObjectApi(
    createConfiguration({
      baseServer: new ServerConfiguration(cluster.server, {}),
      authMethods: { default: kc },
      promiseMiddleware: [
        {
          pre: async (ctx) => {
            const current = deadline.getStore();
            if (current) ctx.setSignal(current.signal);
            return ctx;
          },
          post: async (ctx) => ctx,
        },
      ],
    }),
  );
  const health = new Health(kc);

  return {
    async apply(obj) {
      // client-node re-serialises the body through its generated models, which map
      // `from`/`default` to `_from`/`_default`; a plain object loses those fields silently.
      // loadYaml builds the model instances, so the serialiser writes every field back.
      const spec = loadYaml<KubernetesObject>(JSON.stringify(obj));
      await call(`apply ${describe(obj)}`, () =>
        api.patch(spec, undefined, undefined, FIELD_MANAGER, true, PatchStrategy.ServerSideApply),
      );
    },
    async read(ref) {
      try {
        return toLive(await call(`read ${describe(ref)}`, () => api.read(header(ref))));
      } catch (err) {
        if (err instanceof KubernetesError && err.status === 404) return undefined;
        throw err;
      }
    },
    async list(apiVersion, kind, namespace, labelSelector) {
      const list = await call(`list ${kind} in ${namespace}`, () =>
        api.list(apiVersion, kind, namespace, undefined, undefined, undefined, undefined, labelSelector),
      );
      return list.items.map(toLive);
    },
    async remove(ref) {
      try {
        await call(`delete ${describe(ref)}`, () => api.delete(header(ref)));
        return true;
      } catch (err) {
        if (err instanceof KubernetesError && err.status === 404) return false;
        throw err;
      }
    },
    async ready(timeoutMs) {
      try {
        return await health.readyz({ signal: AbortSignal.timeout(timeoutMs) });
      } catch {
        return false;
      }
    },
  };
}

async function call<T>(operation: string, fn: () => Promise<T>): Promise<T> {
  const current = deadline.getStore();
  try {
    return await fn();
  } catch (err) {
    if (current?.signal.aborted) throw new KubernetesTimeoutError(operation, current.timeoutMs);
    throw toKubernetesError(operation, err);
  }
}

function toKubernetesError(operation: string, err: unknown): KubernetesError {
  if (err instanceof ApiException) {
    const status = parseStatus(err.body);
    return new KubernetesError(operation, err.code, status.reason, status.message ?? "no message");
  }
  // Network failures arrive as undici's "fetch failed" with the real cause underneath.
  const message =
    err instanceof Error
      ? err.cause instanceof Error
        ? `${err.message} (${err.cause.message})`
        : err.message
      : String(err);
  return new KubernetesError(operation, undefined, undefined, message);
}

/** Kubernetes answers errors with a `Status` object; client-node hands over its raw text. */
function parseStatus(body: unknown): { reason?: string; message?: string } {
  let value = body;
  if (typeof body === "string") {
    try {
      value = JSON.parse(body);
    } catch {
      return { message: body.slice(0, 500) };
    }
  }
  if (typeof value !== "object" || value === null) return {};
  const { reason, message } = value as Record<string, unknown>;
  return {
    ...(typeof reason === "string" && reason ? { reason } : {}),
    ...(typeof message === "string" && message ? { message } : {}),
  };
}

function toLive(obj: KubernetesObject & { status?: { phase?: string } }): LiveObject {
  const meta = obj.metadata ?? {};
  return {
    name: meta.name ?? "",
    labels: meta.labels ?? {},
    annotations: meta.annotations ?? {},
    terminating: Boolean(meta.deletionTimestamp) || obj.status?.phase === "Terminating",
  };
}

function header(ref: ObjectRef) {
  return {
    apiVersion: ref.apiVersion,
    kind: ref.kind,
    metadata: { name: ref.name, namespace: ref.namespace },
  };
}

function describe(obj: ObjectRef | KubeObject): string {
  const ref = "metadata" in obj ? { ...obj, ...obj.metadata } : obj;
  return `${ref.kind} ${ref.namespace ? `${ref.namespace}/` : ""}${ref.name}`;
}
