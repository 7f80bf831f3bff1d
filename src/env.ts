/**
 * Worker bindings and configuration. The raw `env` is parsed with zod once per isolate,
 * so a missing secret fails loudly at the first request with its name, never as an
 * `undefined` deep inside a handler.
 */
import { z } from "zod";
import type { NotifyQueue, ProvisionQueue, WebhookQueue } from "./jobs/queue";
import { LOG_LEVELS } from "./lib/log";

export interface Bindings {
  PROVISION_QUEUE: ProvisionQueue;
  /** The notifications outbox's queue (emails). */
  NOTIFY_QUEUE: NotifyQueue;
  /** Webhook deliveries: a queue of their own, for their day-long retry schedule. */
  WEBHOOK_QUEUE: WebhookQueue;
  /** Workers Static Assets (`public/`): the API reference's script and styles. */
  ASSETS?: { fetch(input: Request | string): Promise<Response> };
  ENVIRONMENT?: string;
  /** `response`: invitation tokens are returned by the API (development and tests only). */
  INVITATION_DELIVERY?: string;
  /** `true`: webhooks may point at http:// and private or loopback hosts (development and tests only). */
  WEBHOOK_ALLOW_PRIVATE?: string;
  BASE_DOMAIN: string;
  RETENTION_DAYS: string;
  /** The regions a tenant may be placed in (comma-separated), and the control database's own. */
  REGIONS?: string;
  CONTROL_REGION?: string;
  /** Cron batch sizes (optional vars): tenants per purge run, jobs per reconcile run. */
  PURGE_BATCH_SIZE?: string;
  RECONCILE_BATCH_SIZE?: string;
  /** Daily usage: (day, tenant) counters and tenant snapshots per rollup run; rows per purge statement. */
  USAGE_ROLLUP_BATCH_SIZE?: string;
  USAGE_PURGE_BATCH_SIZE?: string;
  RATE_LIMIT_FAILURE_MODE: string;
  PROVISIONER_URL: string;
  JWT_ISSUER: string;
  JWT_AUDIENCE: string;
  DATABASE_URL: string;
  JWT_SECRET: string;
  UPSTASH_REDIS_REST_URL: string;
  UPSTASH_REDIS_REST_TOKEN: string;
  MASTER_KEY: string;
  PROVISIONER_SECRET: string;
  JWKS_URL?: string;
  METRICS_TOKEN?: string;
  /** Outgoing mail (SMTP submission): required outside development. */
  SMTP_HOST?: string;
  SMTP_PORT?: string;
  /** `tls` (implicit TLS, port 465), `starttls` (port 587) or `none` (development only). */
  SMTP_SECURITY?: string;
  SMTP_USER?: string;
  SMTP_PASSWORD?: string;
  /** `Name <address@example.com>` or `address@example.com`. */
  MAIL_FROM?: string;
  /** Local stand-ins only: the Neon WebSocket proxy ("host:port"). Never set in production. */
  NEON_LOCAL_PROXY?: string;
  /** Local stand-ins only: the Neon SQL-over-HTTP emulator's `/sql` URL. */
  NEON_LOCAL_HTTP?: string;
  LOG_LEVEL?: string;
}

export const DEFAULT_REGIONS = "us-east,eu-central,ap-southeast";
/** The shape of a region name (also a CHECK on `tenants.region`). */
export const REGION_NAME = /^[a-z0-9][a-z0-9-]{0,30}$/;

const nonEmpty = (name: string) =>
  z.string({ error: `${name} is not set` }).min(1, { error: `${name} is not set` });

/** Port 25 is blocked for outgoing connections from Workers: submission ports only. */
const BLOCKED_SMTP_PORT = 25;
export const SMTP_SECURITY_MODES = ["tls", "starttls", "none"] as const;
/** What a deployed (staging, production) Worker must have to send invitations. */
const MAIL_REQUIRED_OUTSIDE_DEVELOPMENT = ["SMTP_HOST", "SMTP_USER", "SMTP_PASSWORD", "MAIL_FROM"] as const;

/** A sender as mail headers need it: the address, and a display name without quotes or control characters. */
export interface Mailbox {
  name?: string;
  email: string;
}

const mailbox = z.string().transform((value, ctx): Mailbox => {
  const match = /^\s*(?:(.*?)\s*<([^<>\s]+)>|([^<>\s]+))\s*$/.exec(value);
  const email = match?.[2] ?? match?.[3] ?? "";
  const name = match?.[1]?.replace(/^"(.*)"$/, "$1").trim();
  if (!z.email().safeParse(email).success || (name && /["\\\p{Cc}]/u.test(name))) {
    ctx.addIssue({
      code: "custom",
      message: "MAIL_FROM must be `Name <address@example.com>` or `address@example.com`",
    });
    return z.NEVER;
  }
  return name ? { name, email } : { email };
});

const configSchema = z
  .object({
    ENVIRONMENT: z.enum(["development", "staging", "production"]).default("development"),
    INVITATION_DELIVERY: z.enum(["response"]).optional(),
    WEBHOOK_ALLOW_PRIVATE: z
      .enum(["true", "false"], { error: "WEBHOOK_ALLOW_PRIVATE must be true or false" })
      .default("false")
      .transform((value) => value === "true"),
    BASE_DOMAIN: nonEmpty("BASE_DOMAIN").transform((d) => d.toLowerCase()),
    RETENTION_DAYS: z.coerce.number().int().positive().default(30),
    REGIONS: z
      .string()
      .default(DEFAULT_REGIONS)
      .transform((list) => [
        ...new Set(
          list
            .split(",")
            .map((name) => name.trim())
            .filter(Boolean),
        ),
      ])
      .pipe(
        z
          .array(
            z.string().regex(REGION_NAME, { error: "REGIONS holds lower-case names such as eu-central" }),
          )
          .min(1, { error: "REGIONS names at least one region" }),
      ),
    CONTROL_REGION: z.string().optional(),
    PURGE_BATCH_SIZE: z.coerce.number().int().min(1).max(1000).default(25),
    RECONCILE_BATCH_SIZE: z.coerce.number().int().min(1).max(1000).default(100),
    USAGE_ROLLUP_BATCH_SIZE: z.coerce.number().int().min(1).max(1000).default(200),
    USAGE_PURGE_BATCH_SIZE: z.coerce.number().int().min(1).max(10_000).default(1000),
    RATE_LIMIT_FAILURE_MODE: z.enum(["open", "closed"]).default("open"),
    PROVISIONER_URL: z.url({ error: "PROVISIONER_URL must be a URL" }).refine(isHttpsOrLoopback, {
      error:
        "PROVISIONER_URL must use https:// unless its host is loopback (127.0.0.0/8, ::1, localhost): job tokens and bodies must not cross a network in clear text",
    }),
    JWT_ISSUER: nonEmpty("JWT_ISSUER"),
    JWT_AUDIENCE: nonEmpty("JWT_AUDIENCE"),
    DATABASE_URL: nonEmpty("DATABASE_URL"),
    JWT_SECRET: nonEmpty("JWT_SECRET").min(32, { error: "JWT_SECRET must be at least 32 characters" }),
    UPSTASH_REDIS_REST_URL: z.url({ error: "UPSTASH_REDIS_REST_URL is not set" }),
    UPSTASH_REDIS_REST_TOKEN: nonEmpty("UPSTASH_REDIS_REST_TOKEN"),
    MASTER_KEY: nonEmpty("MASTER_KEY").refine(isKey32, {
      error: "MASTER_KEY must be 32 bytes, base64-encoded",
    }),
    PROVISIONER_SECRET: nonEmpty("PROVISIONER_SECRET").min(32, {
      error: "PROVISIONER_SECRET must be at least 32 characters",
    }),
    JWKS_URL: z.url().optional(),
    METRICS_TOKEN: z.string().min(16).optional(),
    SMTP_HOST: z.string().trim().min(1).optional(),
    SMTP_PORT: z.coerce
      .number()
      .int()
      .min(1)
      .max(65_535)
      .refine((port) => port !== BLOCKED_SMTP_PORT, {
        error: "SMTP_PORT 25 is blocked from Workers: use 465 (SMTP_SECURITY=tls) or 587 (starttls)",
      })
      .default(465),
    SMTP_SECURITY: z.enum(SMTP_SECURITY_MODES).default("tls"),
    SMTP_USER: z.string().min(1).optional(),
    SMTP_PASSWORD: z.string().min(1).optional(),
    MAIL_FROM: mailbox.optional(),
    NEON_LOCAL_PROXY: z.string().optional(),
    NEON_LOCAL_HTTP: z.url().optional(),
    LOG_LEVEL: z.enum(LOG_LEVELS).default("info"),
  })
  .transform((c) => ({ ...c, CONTROL_REGION: c.CONTROL_REGION ?? (c.REGIONS[0] as string) }))
  .refine((c) => c.REGIONS.includes(c.CONTROL_REGION), {
    error: "CONTROL_REGION must be one of REGIONS: shared tenants live in the control database's region",
    path: ["CONTROL_REGION"],
  })
  .refine((c) => c.INVITATION_DELIVERY !== "response" || c.ENVIRONMENT === "development", {
    error:
      "INVITATION_DELIVERY=response is for development and tests only: it hands invitation tokens to the inviter",
    path: ["INVITATION_DELIVERY"],
  })
  .refine((c) => !c.WEBHOOK_ALLOW_PRIVATE || c.ENVIRONMENT === "development", {
    error:
      "WEBHOOK_ALLOW_PRIVATE=true is for development and tests only: it lets tenants point webhooks at private and loopback addresses",
    path: ["WEBHOOK_ALLOW_PRIVATE"],
  })
  .refine((c) => c.SMTP_SECURITY !== "none" || c.ENVIRONMENT === "development", {
    error:
      "SMTP_SECURITY=none is for development only (the local mail catcher): credentials and invitation links would cross the network in clear text",
    path: ["SMTP_SECURITY"],
  })
  .refine((c) => (c.SMTP_USER === undefined) === (c.SMTP_PASSWORD === undefined), {
    error: "SMTP_USER and SMTP_PASSWORD are set together or not at all",
    path: ["SMTP_USER"],
  })
  .superRefine((c, ctx) => {
    if (c.ENVIRONMENT === "development") return;
    for (const name of MAIL_REQUIRED_OUTSIDE_DEVELOPMENT) {
      if (c[name] === undefined) {
        ctx.addIssue({
          code: "custom",
          message: `${name} is not set: invitations are sent by email outside development`,
          path: [name],
        });
      }
    }
  });

export type Config = z.infer<typeof configSchema>;

/** https, or plain http to this machine (`localhost`, 127.0.0.0/8, `[::1]`): never cleartext on a network. */
export function isHttpsOrLoopback(value: string): boolean {
  const url = new URL(value);
  if (url.protocol === "https:") return true;
  if (url.protocol !== "http:") return false;
  const host = url.hostname;
  return host === "localhost" || host === "[::1]" || /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(host);
}

function isKey32(value: string): boolean {
  try {
    return atob(value.trim()).length === 32;
  } catch {
    return false;
  }
}

export class ConfigError extends Error {
  override name = "ConfigError";
}

const parsed = new WeakMap<object, Config>();

export function loadConfig(env: Bindings): Config {
  const cached = parsed.get(env);
  if (cached) return cached;
  const result = configSchema.safeParse(blankToUndefined(env));
  if (!result.success) {
    const fields = result.error.issues.map((i) =>
      i.message.includes(String(i.path[0])) ? i.message : `${i.path.join(".")}: ${i.message}`,
    );
    throw new ConfigError(`invalid configuration: ${fields.join("; ")}`);
  }
  parsed.set(env, result.data);
  return result.data;
}

/** `wrangler` passes unset optional vars as "", which should mean "not configured". */
function blankToUndefined(env: Bindings): Record<string, unknown> {
  return Object.fromEntries(
    Object.entries(env).map(([k, v]) => [k, typeof v === "string" && v === "" ? undefined : v]),
  );
}
