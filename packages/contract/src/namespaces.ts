/**
 * Every tenant gets one Kubernetes namespace, named after its slug. The slug rule
 * (docs/architecture.md, "Tenancy rules") keeps every such name a valid namespace name:
 * `tenant-` plus 3 to 40 lowercase letters, digits and inner hyphens.
 */
export const SLUG_PATTERN = /^[a-z0-9](?:[a-z0-9-]{1,38}[a-z0-9])$/;

export function namespaceName(slug: string): string {
  return `tenant-${slug}`;
}
