import { z } from "@hono/zod-openapi";
import { jsonContent } from "../../lib/openapi";
import { CONFIG_WARNING_CODES, SEVERITIES } from "../../services/platform/config-warnings";
import { defineRoute } from "../route-table";

const Check = z.enum(["ok", "error"]);
const count = (description: string) => z.number().int().nonnegative().openapi({ description });

/** The backlog of an outbox the notifications or webhooks queue drains. */
function outboxBacklog(what: string, noun: string) {
  return z
    .object({
      pending: count(`Each ${noun} not attempted yet`),
      failed: count(`Each ${noun} whose last attempt failed, waiting for its retry`),
      dead: count(`Each ${noun} that ran out of attempts (or can never be sent)`),
      oldest_age_s: z
        .number()
        .int()
        .nonnegative()
        .nullable()
        .openapi({
          description: `Age in seconds of the oldest pending or failed ${noun}; null when there is none`,
        }),
    })
    .nullable()
    .openapi({ description: `${what}; null when the database could not count them` });
}

export const SystemStatusSchema = z
  .object({
    db: Check.openapi({ description: "Postgres answers `select 1` within 2 s" }),
    redis: Check.openapi({ description: "Redis answers PING within 2 s" }),
    provisioner: z.object({
      reachable: z.boolean().openapi({ description: "A signed ping was answered within 2 s" }),
      mode: z
        .enum(["live", "dry_run"])
        .nullable()
        .openapi({ description: "`dry_run`: nothing is applied to Kubernetes; null when unreachable" }),
      version: z.string().nullable(),
      error: z.string().optional().openapi({
        description:
          "Why it is not reachable: down, timed out, refused the signed ping, or answered nonsense",
      }),
    }),
    queue: z
      .object({
        pending: count("Jobs not yet sent to the provisioner"),
        sent: count("Jobs sent, outcome not yet recorded"),
        failed: count("Jobs whose last attempt failed, waiting for a retry"),
        dead: count("Jobs that ran out of attempts (see the dead-letter queue)"),
        oldest_age_s: z.number().int().nonnegative().nullable().openapi({
          description: "Age in seconds of the oldest pending or sent job; null when there is none",
        }),
      })
      .nullable()
      .openapi({
        description: "Provisioning jobs of every tenant; null when the database could not count them",
      }),
    notifications: outboxBacklog("Emails (invitations, lifecycle notices, key reminders)", "email"),
    webhooks: outboxBacklog("Webhook deliveries of every tenant", "delivery"),
    warnings: z.array(
      z.object({
        code: z.enum(CONFIG_WARNING_CODES),
        message: z.string(),
        severity: z.enum(SEVERITIES).openapi({
          description: "`error`: this deployment is not fit for production as configured",
        }),
      }),
    ),
  })
  .openapi("SystemStatus");

export const status = defineRoute({
  access: { kind: "system", metricsToken: true },
  method: "get",
  path: "/api/v1/system/status",
  operationId: "getSystemStatus",
  summary:
    "Operator status: database, Redis, provisioner, the provisioning, email and webhook backlogs, and configuration warnings",
  description:
    "Every check runs concurrently and is bounded (about 2 s each), so a dead or hanging dependency shows as " +
    '`"error"` (the provisioner as `reachable: false`, the backlog as `null`) in a **200** answer: once the ' +
    "caller is admitted, the answer is always the full report, and `/health` is the probe whose status code " +
    "follows the backends. A 503 `dependency_unavailable` comes only from checking a system admin's token " +
    "while the database is down; the `METRICS_TOKEN` bearer needs no database.",
  tags: ["system"],
  security: [{ bearerJwt: [] }, { metricsToken: [] }],
  responses: {
    200: jsonContent(SystemStatusSchema, "The status report, including any dependency that failed its check"),
  },
});
