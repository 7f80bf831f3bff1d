/**
 * Configuration warnings for the operator status: a fixed list of rules with stable codes,
 * each judged against the parsed config (and what the provisioner says about itself). A
 * rule that holds yields nothing; the codes never change meaning, so monitoring can key on them.
 */
import { type Config, isHttpsOrLoopback } from "../../env";

export const CONFIG_WARNING_CODES = [
  "provisioner_url_insecure",
  "provisioner_dry_run",
  "base_domain_localhost",
  "local_stand_ins_configured",
  "rate_limit_fail_open",
  "invitation_delivery_response",
  "metrics_token_missing",
  "jwks_url_missing",
] as const;

export type ConfigWarningCode = (typeof CONFIG_WARNING_CODES)[number];
export const SEVERITIES = ["warning", "error"] as const;
export type Severity = (typeof SEVERITIES)[number];

export interface ConfigWarning {
  code: ConfigWarningCode;
  message: string;
  severity: Severity;
}

export interface WarningInput {
  config: Config;
  /** What the provisioner's ping reported; null when it did not answer. */
  provisionerMode: "live" | "dry_run" | null;
}

interface Rule {
  /** The severity when the rule is broken, or undefined when it holds. */
  check(input: WarningInput): Severity | undefined;
  message: string;
}

const deployed = (config: Config) => config.ENVIRONMENT !== "development";

const RULES: Record<ConfigWarningCode, Rule> = {
  provisioner_url_insecure: {
    check: ({ config }) => (isHttpsOrLoopback(config.PROVISIONER_URL) ? undefined : "error"),
    message:
      "PROVISIONER_URL is not https and not on this host: job tokens and tenant quotas travel in the clear.",
  },
  provisioner_dry_run: {
    check: ({ config, provisionerMode }) =>
      provisionerMode !== "dry_run" ? undefined : deployed(config) ? "error" : "warning",
    message:
      "The provisioner runs in dry-run mode: jobs are recorded as dry_run and no namespace is created or removed.",
  },
  base_domain_localhost: {
    check: ({ config }) => (deployed(config) && config.BASE_DOMAIN === "localhost" ? "error" : undefined),
    message: "BASE_DOMAIN is localhost outside development: tenant subdomains cannot resolve.",
  },
  local_stand_ins_configured: {
    check: ({ config }) =>
      deployed(config) && (config.NEON_LOCAL_PROXY || config.NEON_LOCAL_HTTP) ? "error" : undefined,
    message:
      "NEON_LOCAL_PROXY or NEON_LOCAL_HTTP is set outside development: the database driver is pointed at the local stand-ins.",
  },
  rate_limit_fail_open: {
    check: ({ config }) =>
      deployed(config) && config.RATE_LIMIT_FAILURE_MODE === "open" ? "warning" : undefined,
    message: "RATE_LIMIT_FAILURE_MODE is open: while Redis is down, rate limits are not enforced.",
  },
  invitation_delivery_response: {
    check: ({ config }) => (config.INVITATION_DELIVERY === "response" ? "warning" : undefined),
    message:
      "INVITATION_DELIVERY is response: invitation tokens are handed to the inviter in the API's answer.",
  },
  metrics_token_missing: {
    check: ({ config }) => (config.METRICS_TOKEN === undefined ? "warning" : undefined),
    message:
      "METRICS_TOKEN is not set: a scraper can read /metrics and this status only with a system admin's token.",
  },
  jwks_url_missing: {
    check: ({ config }) => (config.JWKS_URL === undefined ? "warning" : undefined),
    message:
      "JWKS_URL is not set: only tokens issued by this API are accepted (no external identity provider).",
  },
};

/** Every broken rule, in the fixed order of `CONFIG_WARNING_CODES`. */
export function configWarnings(input: WarningInput): ConfigWarning[] {
  const warnings: ConfigWarning[] = [];
  for (const code of CONFIG_WARNING_CODES) {
    const rule = RULES[code];
    const severity = rule.check(input);
    if (severity) warnings.push({ code, message: rule.message, severity });
  }
  return warnings;
}
