import { z } from "@hono/zod-openapi";
import type { Handler } from "../../lib/router";
import { createRouter } from "../../lib/router";
import { renderMetrics } from "../../services/platform/metrics";
import { defineRoute } from "../route-table";

export const metrics = defineRoute({
  access: { kind: "system", metricsToken: true },
  method: "get",
  path: "/metrics",
  operationId: "getMetrics",
  summary:
    "Prometheus metrics: requests by tenant, route and status class, rate-limit and quota denials, latency",
  tags: ["system"],
  security: [{ bearerJwt: [] }, { metricsToken: [] }],
  responses: {
    200: {
      description: "Prometheus text exposition format 0.0.4",
      content: { "text/plain": { schema: z.string() } },
    },
  },
});

const getMetrics: Handler<typeof metrics> = async (c) =>
  c.text(await renderMetrics(c.var.config), 200, {
    "content-type": "text/plain; version=0.0.4; charset=utf-8",
  });

export const metricsRouter = createRouter().openapi(metrics, getMetrics);
