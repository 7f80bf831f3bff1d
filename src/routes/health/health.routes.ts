import { z } from "@hono/zod-openapi";
import { jsonContent } from "../../lib/openapi";
import { defineRoute } from "../route-table";

const Check = z.enum(["ok", "error"]);

export const HealthSchema = z
  .object({
    status: z.enum(["ok", "degraded"]),
    checks: z.object({ db: Check, redis: Check }),
  })
  .openapi("Health");

export const health = defineRoute({
  access: { kind: "public" },
  method: "get",
  path: "/health",
  operationId: "getHealth",
  summary: "Health of the API and its backends",
  tags: ["system"],
  responses: {
    200: jsonContent(HealthSchema, "Every backend answers"),
    503: jsonContent(HealthSchema, "At least one backend is down"),
  },
});

export const live = defineRoute({
  access: { kind: "public" },
  method: "get",
  path: "/health/live",
  operationId: "getLiveness",
  summary: "Liveness: the Worker answers, without touching any backend",
  tags: ["system"],
  backend: false,
  responses: { 200: jsonContent(z.object({ status: z.literal("ok") }), "Alive") },
});
