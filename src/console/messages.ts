/**
 * Friendly wording for every problem+json `code` the API can answer with, and for the
 * notices shown after an action. Typed against PROBLEM_CODES, so a new code cannot be
 * added to the API without the console saying something sensible about it.
 */
import type { ProblemBody, ProblemCode } from "../lib/problem";

export interface FriendlyProblem {
  title: string;
  message: string;
  /** Field-level issues of a 400 `validation_failed`. */
  fields: Array<{ path: string; message: string }>;
  requestId?: string;
}

type Wording = (problem: ProblemBody, retryAfter: number | null) => { title: string; message: string };

const fixed =
  (title: string, message: string): Wording =>
  () => ({ title, message });

const WORDING: Record<ProblemCode, Wording> = {
  validation_failed: fixed("Check the form", "Some fields need attention."),
  malformed_json: fixed("Something went wrong", "The console sent a request the API could not read."),
  tenant_required: fixed("Pick a tenant", "This page needs a tenant to act in."),
  tenant_conflict: fixed("Conflicting tenants", "This address names one tenant and the page another."),
  unauthenticated: fixed("Please sign in", "Your session has ended. Sign in again to continue."),
  invalid_token: fixed("Please sign in", "Your session is no longer valid. Sign in again to continue."),
  forbidden: (p) => ({ title: "Not allowed", message: `You don't have permission to do this. ${p.detail}` }),
  tenant_mismatch: fixed("Not your tenant", "Your account can only see its own tenant."),
  tenant_suspended: fixed(
    "Tenant suspended",
    "This tenant is suspended: its members cannot use it until a system admin reactivates it.",
  ),
  password_change_required: fixed(
    "Change your password",
    "You signed in with a temporary password: choose a new password before doing anything else.",
  ),
  feature_disabled: fixed("Not on this plan", "This feature is not enabled on the tenant's plan."),
  ip_not_allowed: (p) => ({ title: "Not from this address", message: p.detail }),
  not_found: fixed("Not found", "It may have been removed, or the link is wrong."),
  tenant_not_found: fixed("Tenant not found", "There is no such tenant, or it has been deleted."),
  method_not_allowed: fixed("Something went wrong", "The console made a request the API does not accept."),
  conflict: (p) => ({ title: "That clashes with the current state", message: p.detail }),
  slug_taken: fixed("Slug taken", "Another tenant already uses this slug. Pick a different one."),
  last_admin: fixed("Last admin", "A tenant must always keep at least one admin."),
  default_tenant_protected: fixed("Protected tenant", "The default tenant cannot be deleted."),
  ip_allowlist_excludes_caller: (p) => ({ title: "This would lock you out", message: p.detail }),
  tenant_moving: fixed(
    "Tenant moving",
    "This tenant is moving between databases and is read-only until the move has finished; try again shortly.",
  ),
  invitation_expired: fixed("Invitation expired", "This invitation has expired or was already used."),
  payload_too_large: fixed("Too much data", "The form is too large to send."),
  unsupported_media_type: fixed(
    "Something went wrong",
    "The console sent a request in a format the API refuses.",
  ),
  idempotency_key_reused: fixed(
    "Already submitted",
    "This form was already sent with other values. Reload the page and try again.",
  ),
  rate_limited: (_p, retryAfter) => ({
    title: "Slow down",
    message: `Too many requests for now. Try again in ${formatSeconds(retryAfter ?? 60)}.`,
  }),
  quota_exceeded: (p) => ({
    title: "Quota reached",
    message:
      typeof p.quota === "string"
        ? `The tenant has used ${p.used ?? "all"} of ${p.limit ?? "its"} ${humanQuota(p.quota)}. Remove one or raise the plan first.`
        : "The tenant has reached a quota of its plan.",
  }),
  internal: fixed("Something went wrong on our side", "The error has been logged. Try again in a moment."),
  dependency_unavailable: fixed(
    "Temporarily unavailable",
    "A service the API depends on is unreachable. Try again in a moment.",
  ),
};

export function friendly(problem: ProblemBody, retryAfter: number | null = null): FriendlyProblem {
  const wording = WORDING[problem.code] ?? WORDING.internal;
  const { title, message } = wording(problem, retryAfter);
  return {
    title,
    message,
    fields: (problem.errors ?? []).map((e) => ({ path: e.path, message: e.message })),
    requestId: problem.request_id,
  };
}

/** Confirmations shown after a redirect (`?notice=`): fixed texts, so a link cannot inject any. */
export const NOTICES = {
  suspended: "Tenant suspended. Its members are locked out until it is reactivated.",
  reactivated: "Tenant reactivated.",
  deleted: "Tenant deleted. It can be restored until its purge date.",
  restored: "Tenant restored.",
  key_revoked: "API key revoked. It stops working everywhere within 30 seconds.",
  signed_out: "You have signed out.",
  expired: "Your session expired. Sign in again to continue.",
  password_change_required: "You signed in with a temporary password. Choose a new password to continue.",
  password_changed: "Password changed.",
  password_changed_sign_in: "Password changed. Sign in with your new password.",
  invitation_accepted: "Invitation accepted: welcome to the tenant.",
  webhook_enabled: "Webhook endpoint enabled. Its failure streak starts afresh.",
  webhook_disabled: "Webhook endpoint disabled. It receives no events until it is enabled again.",
  webhook_deleted: "Webhook endpoint deleted, with its delivery log.",
  webhook_test_sent: "Test event sent. Its delivery is listed below.",
  webhook_replayed: "Delivery sent again, with the same webhook-id and body.",
} as const;

export type NoticeKey = keyof typeof NOTICES;

export function noticeOf(key: string | undefined): string | undefined {
  return key && Object.hasOwn(NOTICES, key) ? NOTICES[key as NoticeKey] : undefined;
}

const QUOTA_NAMES: Record<string, string> = {
  members: "member seats",
  api_keys: "API keys",
  clusters: "clusters",
  plugins: "plugins",
  credentials: "credentials",
  api_calls_per_hour: "API calls this hour",
};

export function humanQuota(quota: string): string {
  return QUOTA_NAMES[quota] ?? quota.replaceAll("_", " ");
}

export function formatSeconds(seconds: number): string {
  if (seconds < 90) return `${Math.max(1, Math.round(seconds))} s`;
  if (seconds < 5400) return `${Math.round(seconds / 60)} min`;
  return `${Math.round(seconds / 3600)} h`;
}

export function formatCount(n: number): string {
  return n.toLocaleString("en-US");
}
