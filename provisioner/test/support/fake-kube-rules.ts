/**
 * What a real API server refuses and the fake must refuse too: invalid names and label
 * values, objects that fail the OpenAPI schema, and label selectors it cannot parse.
 */
import { type FakeResource, StatusError } from "./fake-kube-protocol";
import { validateAgainstSchema } from "./kube-schemas";

const DNS_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
const DNS_SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;
const LABEL_VALUE = /^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$/;

interface ObjectToValidate {
  apiVersion: string;
  kind: string;
  metadata: { name: string; labels?: Record<string, string> };
}

/** Throws a 422 Invalid `StatusError` listing every problem, as kube-apiserver does. */
export function validateObject(obj: ObjectToValidate, resource: FakeResource): void {
  const name = obj.metadata.name;
  const nameRule = resource.kind === "Namespace" ? DNS_LABEL : DNS_SUBDOMAIN;
  const errors: string[] = [];
  if (!nameRule.test(name) || name.length > (resource.kind === "Namespace" ? 63 : 253)) {
    errors.push(`metadata.name: Invalid value: "${name}"`);
  }
  for (const [key, value] of Object.entries(obj.metadata.labels ?? {})) {
    if (typeof value !== "string" || value.length > 63 || !LABEL_VALUE.test(value)) {
      errors.push(`metadata.labels: Invalid value: "${String(value)}" for ${key}`);
    }
  }
  try {
    validateAgainstSchema(obj);
  } catch (err) {
    errors.push(err instanceof Error ? err.message : String(err));
  }
  if (errors.length > 0) {
    throw new StatusError(422, `${resource.kind} "${name}" is invalid: ${errors.join(", ")}`, {
      name,
      kind: resource.kind,
    });
  }
}

/** Equality, inequality and existence terms: what `managed-by=tenantry,tenant-id=…` needs. */
export function labelMatcher(selector: string): (labels: Record<string, string>) => boolean {
  const terms = selector
    .split(",")
    .map((term) => term.trim())
    .filter(Boolean)
    .map((term) => {
      const match = /^(!?)([A-Za-z0-9./_-]+)(?:\s*(==|=|!=)\s*([A-Za-z0-9._-]*))?$/.exec(term);
      if (!match) throw new StatusError(400, `unable to parse requirement: ${term}`);
      const [, not, key = "", op, value] = match;
      if (not && op) throw new StatusError(400, `unable to parse requirement: ${term}`);
      return (labels: Record<string, string>) => {
        if (!op) return not ? !(key in labels) : key in labels;
        return op === "!=" ? labels[key] !== value : labels[key] === value;
      };
    });
  return (labels) => terms.every((term) => term(labels));
}
