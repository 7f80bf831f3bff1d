import type { Context } from "hono";
import { accepts } from "hono/accepts";
import { clock } from "../../lib/clock";
import type { Handler } from "../../lib/router";
import {
  allTenantsDailyUsage,
  dayRange,
  type TenantDailyUsage,
  tenantDailyUsage,
  usageCsv,
} from "../../services/tenancy/daily-usage";
import { tenantUsage } from "../../services/tenancy/usage";
import type * as routes from "./usage.routes";

export const usage: Handler<typeof routes.usage> = async (c) => {
  const { tenant } = c.var;
  return c.json(await tenantUsage(c.var.http, c.var.config, tenant), 200);
};

export const daily: Handler<typeof routes.daily> = async (c) => {
  const { tenant } = c.var;
  const range = dayRange(c.req.valid("query"), clock.now());
  const usage = await tenantDailyUsage(c.var.http, tenant.id, range);
  if (wantsCsv(c)) return csvResponse(c, [usage], `${tenant.slug}-usage-${range.from}-${range.to}.csv`);
  return c.json(usage, 200);
};

export const dailyAll: Handler<typeof routes.dailyAll> = async (c) => {
  const query = c.req.valid("query");
  const range = dayRange(query, clock.now());
  const page = await allTenantsDailyUsage(c.var.http, range, query);
  if (!wantsCsv(c)) return c.json(page, 200);
  const headers: Record<string, string> = {};
  if (page.next_cursor) {
    const next = new URL(c.req.url);
    next.searchParams.set("cursor", page.next_cursor);
    headers.link = `<${next.pathname}${next.search}>; rel="next"`;
  }
  return csvResponse(c, page.data, `usage-${range.from}-${range.to}.csv`, headers);
};

const JSON_TYPE = "application/json";
const CSV_TYPE = "text/csv";

/** CSV when the client prefers it to JSON (`Accept`, with its q-values); JSON otherwise. */
function wantsCsv(c: Context): boolean {
  return accepts(c, { header: "Accept", supports: [JSON_TYPE, CSV_TYPE], default: JSON_TYPE }) === CSV_TYPE;
}

function csvResponse(
  c: Context,
  items: TenantDailyUsage[],
  filename: string,
  headers: Record<string, string> = {},
) {
  return c.body(usageCsv(items), 200, {
    "content-type": `${CSV_TYPE}; charset=utf-8`,
    "content-disposition": `attachment; filename="${filename}"`,
    ...headers,
  }) as never;
}
