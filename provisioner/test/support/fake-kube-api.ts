/**
 * A strict in-process stand-in for kube-apiserver (no real one can run here). It serves
 * discovery, server-side apply, GET, list with label selectors and DELETE with namespace
 * termination, answers errors as `Status` objects, records every request, and can be told
 * to fail or hang. Requests a real server would reject are rejected, so a client bug shows
 * up here rather than on a cluster. Also imported by the Worker's end-to-end tests.
 */
import { randomUUID } from "node:crypto";
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { parse as parseYaml } from "yaml";
import {
  apiGroupDocument,
  apiGroupList,
  apiResourceList,
  coreVersions,
  FAKE_RESOURCES,
  type FakeResource,
  failureStatus,
  groupVersion,
  StatusError,
} from "./fake-kube-protocol";
import { labelMatcher, validateObject } from "./fake-kube-rules";

export interface FakeObject {
  apiVersion: string;
  kind: string;
  metadata: {
    name: string;
    namespace?: string;
    labels?: Record<string, string>;
    annotations?: Record<string, string>;
    [field: string]: unknown;
  };
  [field: string]: unknown;
}

export interface RecordedRequest {
  method: string;
  /** Path without the query string. */
  path: string;
  query: Record<string, string>;
  contentType: string | undefined;
  /** The parsed body (JSON or YAML), when there was one. */
  body: unknown;
}

export interface Fault {
  match: (method: string, path: string) => boolean;
  /** Answer with this status (default 500) and body (default a matching `Status`). */
  status?: number;
  body?: object;
  /** Never answer; the request stays open until the client gives up or the server stops. */
  hang?: boolean;
  /** How many matching requests to affect; default every one. */
  times?: number;
}

export interface FakeKubeApiOptions {
  /** Remove terminating namespaces by themselves after this delay; default only through `finishTermination`. */
  terminationDelayMs?: number;
}

export interface FakeKubeApi {
  url: string;
  port: number;
  requests: RecordedRequest[];
  /** Stored objects by `objectKey(...)`. */
  objects: Map<string, FakeObject>;
  get(apiVersion: string, kind: string, name: string, namespace?: string): FakeObject | undefined;
  /** Stores an object as if another field manager (default "kubectl") had applied it. */
  seed(obj: FakeObject, manager?: string): FakeObject;
  inject(fault: Fault): void;
  clearFaults(): void;
  /** Completes the deletion of a terminating namespace, with everything in it. */
  finishTermination(name: string): void;
  stop(): Promise<void>;
}

export function objectKey(apiVersion: string, kind: string, name: string, namespace?: string): string {
  return `${apiVersion}/${kind}/${namespace ?? ""}/${name}`;
}

const APPLY_CONTENT_TYPE = "application/apply-patch+yaml";

type Reply = { status: number; body: unknown };

interface Target {
  resource: FakeResource;
  namespace: string | undefined;
  name: string | undefined;
}

export async function startFakeKubeApi(opts: FakeKubeApiOptions = {}): Promise<FakeKubeApi> {
  const requests: RecordedRequest[] = [];
  const objects = new Map<string, FakeObject>();
  const timers = new Set<NodeJS.Timeout>();
  let faults: Fault[] = [];
  let resourceVersion = 1000;
  let address = "";

  const nextVersion = () => String(++resourceVersion);
  const managerOf = (obj: FakeObject) =>
    (obj.metadata.managedFields as { manager: string }[] | undefined)?.[0]?.manager;

  function store(obj: FakeObject, manager: string, previous: FakeObject | undefined): FakeObject {
    const now = new Date().toISOString();
    const meta = obj.metadata;
    const candidate: FakeObject = {
      ...obj,
      metadata: {
        ...meta,
        ...(obj.kind === "Namespace"
          ? { labels: { ...meta.labels, "kubernetes.io/metadata.name": meta.name } }
          : {}),
        uid: previous?.metadata.uid ?? randomUUID(),
        resourceVersion: previous?.metadata.resourceVersion ?? "",
        creationTimestamp: previous?.metadata.creationTimestamp ?? now,
        ...(previous?.metadata.deletionTimestamp
          ? { deletionTimestamp: previous.metadata.deletionTimestamp }
          : {}),
        managedFields: previous?.metadata.managedFields ?? [],
      },
      ...(obj.kind === "Namespace"
        ? { spec: { finalizers: ["kubernetes"] }, status: previous?.status ?? { phase: "Active" } }
        : {}),
    };
    // A real apply that changes nothing keeps the resourceVersion: idempotence is visible.
    if (
      previous &&
      managerOf(previous) === manager &&
      JSON.stringify(candidate) === JSON.stringify(previous)
    ) {
      return previous;
    }
    candidate.metadata.resourceVersion = nextVersion();
    candidate.metadata.managedFields = [
      {
        manager,
        operation: "Apply",
        apiVersion: obj.apiVersion,
        time: now,
        fieldsType: "FieldsV1",
        fieldsV1: {},
      },
    ];
    objects.set(keyOf(candidate), candidate);
    return candidate;
  }

  function apply(target: Target, req: RecordedRequest, raw: string): Reply {
    const { resource, namespace, name } = target;
    if (!name) throw new StatusError(405, `PATCH is not supported on a collection of ${resource.plural}`);
    if (req.contentType !== APPLY_CONTENT_TYPE) {
      throw new StatusError(
        415,
        `the fake API server only implements server-side apply (${APPLY_CONTENT_TYPE}), got ${req.contentType}`,
      );
    }
    const manager = req.query.fieldManager;
    if (!manager) {
      throw new StatusError(
        422,
        'PatchOptions.meta.k8s.io "" is invalid: fieldManager: Required value: is required for apply patch',
      );
    }
    const obj = parseBody(raw);
    const gv = groupVersion(resource);
    if (obj.apiVersion !== gv || obj.kind !== resource.kind) {
      throw new StatusError(
        400,
        `the API version in the data (${obj.apiVersion}) and kind (${obj.kind}) do not match ${gv} ${resource.kind}`,
      );
    }
    if (obj.metadata?.name !== name) {
      throw new StatusError(
        400,
        `the name of the object (${obj.metadata?.name}) does not match the name on the URL (${name})`,
      );
    }
    if (obj.metadata.namespace !== undefined && obj.metadata.namespace !== namespace) {
      throw new StatusError(
        400,
        "the namespace of the provided object does not match the namespace sent on the request",
      );
    }
    validateObject(obj, resource);

    const key = objectKey(gv, resource.kind, name, namespace);
    const previous = objects.get(key);
    if (namespace) {
      const ns = objects.get(objectKey("v1", "Namespace", namespace));
      if (!ns)
        throw new StatusError(404, `namespaces "${namespace}" not found`, {
          name: namespace,
          kind: "namespaces",
        });
      if (!previous && ns.metadata.deletionTimestamp) {
        const message = `${resource.plural} "${name}" is forbidden: unable to create new content in namespace ${namespace} because it is being terminated`;
        throw new StatusError(403, message, {
          name,
          kind: resource.plural,
          causes: [{ reason: "NamespaceTerminating", message, field: "metadata.namespace" }],
        });
      }
    }
    const owner = previous && managerOf(previous);
    if (owner && owner !== manager && req.query.force !== "true") {
      throw new StatusError(409, `Apply failed with 1 conflict: conflict with "${owner}": .metadata.labels`, {
        name,
        kind: resource.plural,
        causes: [
          { reason: "FieldManagerConflict", message: `conflict with "${owner}"`, field: ".metadata.labels" },
        ],
      });
    }
    return {
      status: previous ? 200 : 201,
      body: store(
        { ...obj, metadata: { ...obj.metadata, ...(namespace ? { namespace } : {}) } },
        manager,
        previous,
      ),
    };
  }

  function remove(target: Target): Reply {
    const { resource, namespace, name } = target;
    if (!name) throw new StatusError(405, `DELETE of a collection of ${resource.plural} is not supported`);
    const key = objectKey(groupVersion(resource), resource.kind, name, namespace);
    const obj = objects.get(key);
    if (!obj) throw notFound(resource, name);
    if (resource.kind !== "Namespace") {
      objects.delete(key);
      return {
        status: 200,
        body: {
          kind: "Status",
          apiVersion: "v1",
          metadata: {},
          status: "Success",
          details: { name, kind: resource.plural, uid: obj.metadata.uid },
        },
      };
    }
    if (obj.metadata.deletionTimestamp) {
      throw new StatusError(
        409,
        `Operation cannot be fulfilled on namespaces "${name}": The system is ensuring all content is removed from this namespace.  Upon completion, this namespace will automatically be purged by the system.`,
        { name, kind: "namespaces" },
      );
    }
    const terminating: FakeObject = {
      ...obj,
      metadata: {
        ...obj.metadata,
        deletionTimestamp: new Date().toISOString(),
        resourceVersion: nextVersion(),
      },
      status: { phase: "Terminating" },
    };
    objects.set(key, terminating);
    if (opts.terminationDelayMs !== undefined) {
      const timer = setTimeout(() => {
        timers.delete(timer);
        finishTermination(name);
      }, opts.terminationDelayMs);
      timers.add(timer);
    }
    return { status: 200, body: terminating };
  }

  function read(target: Target, query: Record<string, string>): Reply {
    const { resource, namespace, name } = target;
    const gv = groupVersion(resource);
    if (name) {
      const obj = objects.get(objectKey(gv, resource.kind, name, namespace));
      if (!obj) throw notFound(resource, name);
      return { status: 200, body: obj };
    }
    if (query.fieldSelector)
      throw new StatusError(400, "the fake API server does not implement fieldSelector");
    const matches = labelMatcher(query.labelSelector ?? "");
    const items = [...objects.values()]
      .filter((obj) => obj.apiVersion === gv && obj.kind === resource.kind)
      .filter((obj) => namespace === undefined || obj.metadata.namespace === namespace)
      .filter((obj) => matches(obj.metadata.labels ?? {}))
      // Items of a typed list carry no apiVersion/kind, exactly as a real server sends them.
      .map(({ apiVersion: _apiVersion, kind: _kind, ...rest }) => rest);
    return {
      status: 200,
      body: {
        kind: `${resource.kind}List`,
        apiVersion: gv,
        metadata: { resourceVersion: String(resourceVersion) },
        items,
      },
    };
  }

  function finishTermination(name: string): void {
    objects.delete(objectKey("v1", "Namespace", name));
    for (const [key, obj] of objects) if (obj.metadata.namespace === name) objects.delete(key);
  }

  function route(method: string, path: string, req: RecordedRequest, raw: string): Reply {
    if (method === "GET") {
      if (path === "/readyz" || path === "/livez" || path === "/healthz") return { status: 200, body: "ok" };
      if (path === "/version")
        return { status: 200, body: { major: "1", minor: "33", gitVersion: "v1.33.0-fake" } };
      if (path === "/api") return { status: 200, body: coreVersions(address) };
      if (path === "/apis") return { status: 200, body: apiGroupList() };
      const group = /^\/apis\/([^/]+)$/.exec(path)?.[1];
      if (group) return found(apiGroupDocument(group));
    }
    const match = /^\/(?:api\/(v1)|apis\/([^/]+\/[^/]+))(?:\/(.*))?$/.exec(path);
    if (!match) throw new StatusError(404, "the server could not find the requested resource");
    const gv = match[1] ?? match[2] ?? "";
    const segments = match[3] ? match[3].split("/").map(decodeURIComponent) : [];
    if (segments.length === 0) {
      if (method !== "GET") throw new StatusError(405, `${method} is not supported on ${path}`);
      return found(apiResourceList(gv));
    }
    const target = resolveTarget(gv, segments);
    if (method === "GET") return read(target, req.query);
    if (method === "PATCH") return apply(target, req, raw);
    if (method === "DELETE") return remove(target);
    throw new StatusError(405, `the fake API server does not implement ${method}`);
  }

  const server = createServer(async (incoming: IncomingMessage, res: ServerResponse) => {
    const raw = await readBody(incoming);
    const url = new URL(incoming.url ?? "/", "http://fake");
    const method = incoming.method ?? "GET";
    const path = url.pathname.length > 1 ? url.pathname.replace(/\/+$/, "") : url.pathname;
    const recorded: RecordedRequest = {
      method,
      path,
      query: Object.fromEntries(url.searchParams),
      contentType: incoming.headers["content-type"],
      body: raw ? safeParse(raw) : undefined,
    };
    requests.push(recorded);

    const fault = faults.find((f) => f.match(method, path));
    if (fault) {
      if (fault.times !== undefined && --fault.times <= 0) faults = faults.filter((f) => f !== fault);
      if (fault.hang) return;
      const status = fault.status ?? 500;
      return send(res, status, fault.body ?? failureStatus(status, `injected fault for ${method} ${path}`));
    }
    try {
      const reply = route(method, path, recorded, raw);
      send(res, reply.status, reply.body);
    } catch (err) {
      const status =
        err instanceof StatusError ? err : new StatusError(500, `Internal error occurred: ${String(err)}`);
      send(res, status.code, failureStatus(status.code, status.message, status.details));
    }
  });

  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  address = `127.0.0.1:${port}`;

  return {
    url: `http://${address}`,
    port,
    requests,
    objects,
    get: (apiVersion, kind, name, namespace) => objects.get(objectKey(apiVersion, kind, name, namespace)),
    seed: (obj, manager = "kubectl") => store(obj, manager, objects.get(keyOf(obj))),
    inject: (fault) => {
      faults.push({ ...fault });
    },
    clearFaults: () => {
      faults = [];
    },
    finishTermination,
    stop: () =>
      new Promise<void>((resolve, reject) => {
        for (const timer of timers) clearTimeout(timer);
        server.close((err) => (err ? reject(err) : resolve()));
        // Hung requests never finish by themselves.
        server.closeAllConnections();
      }),
  };
}

function resolveTarget(gv: string, segments: string[]): Target {
  const namespaced = segments[0] === "namespaces" && segments.length >= 3;
  const [namespace, plural, name, ...rest] = namespaced ? segments.slice(1) : [undefined, ...segments];
  const resource = FAKE_RESOURCES.find((r) => groupVersion(r) === gv && r.plural === plural);
  if (!resource || rest.length > 0 || (namespaced && !resource.namespaced)) {
    throw new StatusError(404, "the server could not find the requested resource");
  }
  // A namespaced resource without a namespace is only a cross-namespace list.
  if (resource.namespaced && !namespaced && name) {
    throw new StatusError(404, "the server could not find the requested resource");
  }
  return { resource, namespace, name };
}

function parseBody(raw: string): FakeObject {
  const obj = safeParse(raw);
  if (typeof obj !== "object" || obj === null || typeof (obj as FakeObject).metadata !== "object") {
    throw new StatusError(400, "error decoding YAML: the body is not an object with metadata");
  }
  return obj as FakeObject;
}

function safeParse(raw: string): unknown {
  try {
    // YAML is a superset of JSON, and apply bodies may be either.
    return parseYaml(raw);
  } catch {
    return raw;
  }
}

function found(body: unknown): Reply {
  if (body === undefined) throw new StatusError(404, "the server could not find the requested resource");
  return { status: 200, body };
}

function notFound(resource: FakeResource, name: string): StatusError {
  const kind = resource.group ? `${resource.plural}.${resource.group}` : resource.plural;
  return new StatusError(404, `${kind} "${name}" not found`, {
    name,
    group: resource.group,
    kind: resource.plural,
  });
}

function keyOf(obj: FakeObject): string {
  return objectKey(obj.apiVersion, obj.kind, obj.metadata.name, obj.metadata.namespace);
}

function readBody(req: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    req.on("data", (chunk: Buffer) => chunks.push(chunk));
    req.on("end", () => resolve(Buffer.concat(chunks).toString("utf8")));
    req.on("error", reject);
  });
}

function send(res: ServerResponse, status: number, body: unknown): void {
  const text = typeof body === "string" ? body : JSON.stringify(body);
  res.writeHead(status, { "content-type": typeof body === "string" ? "text/plain" : "application/json" });
  res.end(text);
}
