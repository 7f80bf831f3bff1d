/**
 * What the fake Kubernetes API server speaks: the API resources it knows, its discovery
 * documents and its `Status` errors — shaped like a real kube-apiserver's, because
 * @kubernetes/client-node reads discovery before its first request of each kind.
 */
export interface FakeResource {
  group: string;
  version: string;
  kind: string;
  plural: string;
  singular: string;
  namespaced: boolean;
}

export const FAKE_RESOURCES: FakeResource[] = [
  {
    group: "",
    version: "v1",
    kind: "Namespace",
    plural: "namespaces",
    singular: "namespace",
    namespaced: false,
  },
  {
    group: "",
    version: "v1",
    kind: "ResourceQuota",
    plural: "resourcequotas",
    singular: "resourcequota",
    namespaced: true,
  },
  {
    group: "",
    version: "v1",
    kind: "LimitRange",
    plural: "limitranges",
    singular: "limitrange",
    namespaced: true,
  },
  {
    group: "",
    version: "v1",
    kind: "ServiceAccount",
    plural: "serviceaccounts",
    singular: "serviceaccount",
    namespaced: true,
  },
  {
    group: "networking.k8s.io",
    version: "v1",
    kind: "NetworkPolicy",
    plural: "networkpolicies",
    singular: "networkpolicy",
    namespaced: true,
  },
  {
    group: "rbac.authorization.k8s.io",
    version: "v1",
    kind: "RoleBinding",
    plural: "rolebindings",
    singular: "rolebinding",
    namespaced: true,
  },
];

const VERBS = ["create", "delete", "deletecollection", "get", "list", "patch", "update", "watch"];

export function groupVersion(resource: Pick<FakeResource, "group" | "version">): string {
  return resource.group ? `${resource.group}/${resource.version}` : resource.version;
}

/** `GET /api` */
export function coreVersions(serverAddress: string) {
  return {
    kind: "APIVersions",
    versions: ["v1"],
    serverAddressByClientCIDRs: [{ clientCIDR: "0.0.0.0/0", serverAddress }],
  };
}

/** `GET /apis` */
export function apiGroupList() {
  return { kind: "APIGroupList", apiVersion: "v1", groups: groups().map(apiGroup) };
}

/** `GET /apis/<group>`, undefined for groups the fake does not serve. */
export function apiGroupDocument(group: string) {
  return groups().includes(group) ? { kind: "APIGroup", apiVersion: "v1", ...apiGroup(group) } : undefined;
}

/** `GET /api/v1` or `/apis/<group>/<version>`, undefined when not served. */
export function apiResourceList(gv: string) {
  const resources = FAKE_RESOURCES.filter((r) => groupVersion(r) === gv);
  if (resources.length === 0) return undefined;
  return {
    kind: "APIResourceList",
    apiVersion: "v1",
    groupVersion: gv,
    // Subresources follow their resource, as in a real server: clients that look a kind up
    // by the first match must still find the main resource.
    resources: resources.flatMap((r) => [
      {
        name: r.plural,
        singularName: r.singular,
        namespaced: r.namespaced,
        kind: r.kind,
        verbs: r.namespaced ? VERBS : VERBS.filter((verb) => verb !== "deletecollection"),
      },
      ...(r.kind === "Namespace" || r.kind === "ResourceQuota"
        ? [
            {
              name: `${r.plural}/status`,
              singularName: "",
              namespaced: r.namespaced,
              kind: r.kind,
              verbs: ["get", "patch", "update"],
            },
          ]
        : []),
    ]),
  };
}

const REASONS: Record<number, string> = {
  400: "BadRequest",
  403: "Forbidden",
  404: "NotFound",
  405: "MethodNotAllowed",
  409: "Conflict",
  415: "UnsupportedMediaType",
  422: "Invalid",
  429: "TooManyRequests",
  500: "InternalError",
  503: "ServiceUnavailable",
  504: "Timeout",
};

export interface StatusDetails {
  name?: string;
  group?: string;
  kind?: string;
  causes?: { reason: string; message: string; field?: string }[];
}

/** Thrown by the fake's handlers; the server answers it as a failure `Status`. */
export class StatusError extends Error {
  constructor(
    readonly code: number,
    message: string,
    readonly details?: StatusDetails,
  ) {
    super(message);
  }
}

/** A failure `Status` object, the body of every error a kube-apiserver returns. */
export function failureStatus(code: number, message: string, details?: StatusDetails) {
  return {
    kind: "Status",
    apiVersion: "v1",
    metadata: {},
    status: "Failure",
    message,
    reason: REASONS[code] ?? "Unknown",
    ...(details ? { details } : {}),
    code,
  };
}

function groups(): string[] {
  return [...new Set(FAKE_RESOURCES.map((r) => r.group).filter(Boolean))];
}

function apiGroup(name: string) {
  const versions = [...new Set(FAKE_RESOURCES.filter((r) => r.group === name).map((r) => r.version))].map(
    (version) => ({ groupVersion: `${name}/${version}`, version }),
  );
  return { name, versions, preferredVersion: versions[0] };
}
