import { Problem } from "../../lib/problem";
import type { Handler } from "../../lib/router";
import { exportTenant as streamTenant } from "../../services/tenancy/export";
import { importTenant as importTenantFrom, MAX_IMPORT_BYTES } from "../../services/tenancy/import";
import { UUID } from "../../services/tenancy/tenant-directory";
import { auditContextOf, writeContextOf } from "../request-context";
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

export const importTenant: Handler<typeof routes.importTenant> = async (c) => {
  const { id } = c.req.valid("param");
  // The rules of every route (docs/api.md): an unknown tenant before anything about the body,
  // an empty body is 400 whatever its type, and only a non-empty one of another type is 415.
  if (!UUID.test(id)) throw new Problem("tenant_not_found", "No such tenant.");
  if (c.req.raw.body === null || c.req.header("content-length") === "0") {
    throw new Problem("validation_failed", "The body is empty: send the export's NDJSON.", {
      extensions: { errors: [{ path: "body", message: "Required", code: "invalid_type" }] },
    });
  }
  const type = c.req.header("content-type") ?? "";
  if (!/^application\/(x-ndjson|jsonl|json)\s*(;|$)/i.test(type)) {
    throw new Problem(
      "unsupported_media_type",
      "An import is the export's NDJSON: send it as application/x-ndjson.",
    );
  }
  const declared = Number(c.req.header("content-length") ?? "0");
  if (declared > MAX_IMPORT_BYTES) {
    throw new Problem("payload_too_large", `An import is limited to ${MAX_IMPORT_BYTES} bytes.`);
  }
  const report = await importTenantFrom(
    { config: c.var.config, audit: auditContextOf(c), jobs: c.var.jobs },
    id,
    c.req.raw.body,
  );
  return c.json(report, 200);
};
