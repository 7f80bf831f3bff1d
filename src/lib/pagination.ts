/**
 * Keyset pagination over `(created_at, id)`: stable under concurrent inserts and O(limit)
 * at any depth. The cursor is opaque to clients (base64url JSON of the last row's key).
 */
import { z } from "@hono/zod-openapi";
import { and, asc, desc, eq, gt, lt, or, type SQL } from "drizzle-orm";
import type { PgColumn } from "drizzle-orm/pg-core";
import { Problem } from "./problem";

export const PageQuery = z.object({
  limit: z.coerce.number().int().min(1).max(100).default(20).openapi({ example: 20 }),
  cursor: z.string().max(200).optional().openapi({ description: "Opaque cursor from `next_cursor`" }),
});

export type PageQuery = z.infer<typeof PageQuery>;

export function pageOf<T extends z.ZodType>(item: T, name: string) {
  return z.object({ data: z.array(item), next_cursor: z.string().nullable() }).openapi(name);
}

interface CursorKey {
  createdAt: Date;
  id: string;
}

const cursorSchema = z.object({ t: z.iso.datetime(), i: z.uuid() });

export function encodeCursor(row: CursorKey): string {
  const json = JSON.stringify({ t: row.createdAt.toISOString(), i: row.id });
  return btoa(json).replaceAll("+", "-").replaceAll("/", "_").replace(/=+$/, "");
}

export function decodeCursor(cursor: string): CursorKey {
  try {
    const json = atob(cursor.replaceAll("-", "+").replaceAll("_", "/"));
    const parsed = cursorSchema.parse(JSON.parse(json));
    return { createdAt: new Date(parsed.t), id: parsed.i };
  } catch {
    throw new Problem("validation_failed", "The cursor is not valid.", {
      extensions: { errors: [{ path: "cursor", message: "Invalid cursor", code: "invalid_cursor" }] },
    });
  }
}

/**
 * The `where` fragment and ordering for one page, oldest first (or `newestFirst`, for logs);
 * fetch `limit + 1` rows and pass them to `toPage`.
 */
export function keyset(
  columns: { createdAt: PgColumn; id: PgColumn },
  query: PageQuery,
  opts: { newestFirst?: boolean } = {},
) {
  const [beyond, order] = opts.newestFirst ? [lt, desc] : [gt, asc];
  let after: SQL | undefined;
  if (query.cursor) {
    const key = decodeCursor(query.cursor);
    after = or(
      beyond(columns.createdAt, key.createdAt),
      and(eq(columns.createdAt, key.createdAt), beyond(columns.id, key.id)),
    );
  }
  return { after, orderBy: [order(columns.createdAt), order(columns.id)], take: query.limit + 1 };
}

export function toPage<R extends CursorKey, O>(rows: R[], limit: number, present: (row: R) => O) {
  const hasMore = rows.length > limit;
  const page = hasMore ? rows.slice(0, limit) : rows;
  const last = page[page.length - 1];
  return { data: page.map(present), next_cursor: hasMore && last ? encodeCursor(last) : null };
}
