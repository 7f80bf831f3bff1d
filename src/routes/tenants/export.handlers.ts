import type { RouteHandler } from "@hono/zod-openapi";
import { withTenant } from "../../db/client";
import type { AppBindings } from "../../env";
import { recordAudit } from "../../services/audit";
import { exportTenant as streamExport } from "../../services/export";
import { auditContextOf, tenancyOf } from "../request-context";
import type * as routes from "./export.routes";

export const exportTenant: RouteHandler<typeof routes.exportTenant, AppBindings> = async (c) => {
  const { tenant } = tenancyOf(c);
  await withTenant(c.get("db"), tenant.id, (tx) =>
    recordAudit(tx, auditContextOf(c), {
      tenantId: tenant.id,
      action: "tenant.exported",
      targetType: "tenant",
      targetId: tenant.id,
    }),
  );
  return new Response(streamExport(c.get("config"), tenant.id), {
    status: 200,
    headers: {
      "content-type": "application/x-ndjson; charset=utf-8",
      "content-disposition": `attachment; filename="${tenant.slug}-export.ndjson"`,
    },
  }) as never;
};
