import type { Handler } from "../../lib/router";
import { exportTenant as streamTenant } from "../../services/tenancy/export";
import { writeContextOf } from "../request-context";
import type * as routes from "./export.routes";

export const exportTenant: Handler<typeof routes.exportTenant> = async (c) => {
  const { tenant } = c.var;
  return new Response(await streamTenant(writeContextOf(c)), {
    status: 200,
    headers: {
      "content-type": "application/x-ndjson; charset=utf-8",
      "content-disposition": `attachment; filename="${tenant.slug}-export.ndjson"`,
    },
  }) as never;
};
