import type { RouteHandler } from "@hono/zod-openapi";
import type { AppBindings } from "../../env";
import { exportTenant as streamTenant } from "../../services/export";
import { tenancyOf, writeContextOf } from "../request-context";
import type * as routes from "./export.routes";

export const exportTenant: RouteHandler<typeof routes.exportTenant, AppBindings> = async (c) => {
  const { tenant } = tenancyOf(c);
  return new Response(await streamTenant(writeContextOf(c)), {
    status: 200,
    headers: {
      "content-type": "application/x-ndjson; charset=utf-8",
      "content-disposition": `attachment; filename="${tenant.slug}-export.ndjson"`,
    },
  }) as never;
};
