import { z } from "@hono/zod-openapi";
import { utf8 } from "../../lib/encoding";
import { updatableRoutes } from "../crud-routes";

/** Semantic Versioning 2.0.0, the regular expression semver.org recommends; no `v` prefix. */
const SEMVER =
  /^(0|[1-9]\d*)\.(0|[1-9]\d*)\.(0|[1-9]\d*)(?:-((?:0|[1-9]\d*|\d*[a-zA-Z-][0-9a-zA-Z-]*)(?:\.(?:0|[1-9]\d*|\d*[a-zA-Z-][0-9a-zA-Z-]*))*))?(?:\+([0-9a-zA-Z-]+(?:\.[0-9a-zA-Z-]+)*))?$/;
const MAX_CONFIG_BYTES = 64 * 1024;
/** Deeper documents are no configuration anyone writes, and recursion over them is a hazard. */
const MAX_CONFIG_DEPTH = 32;

const Version = z
  .string()
  .max(128, { abort: true })
  .regex(SEMVER, { message: "Must be a semantic version such as 1.4.0 or 2.0.0-rc.1" })
  .openapi({ example: "1.4.0" });

const PluginConfig = z
  .record(z.string(), z.unknown())
  .refine((config) => !nestedDeeperThan(config, MAX_CONFIG_DEPTH), {
    message: `Must not nest deeper than ${MAX_CONFIG_DEPTH} levels`,
    abort: true,
  })
  .refine((config) => utf8(JSON.stringify(config)).byteLength <= MAX_CONFIG_BYTES, {
    message: `Must serialize to at most ${MAX_CONFIG_BYTES} bytes of JSON`,
  })
  .openapi({
    description: "Any JSON object up to 64 KiB; a PATCH replaces it whole",
    example: { replicas: 2 },
  });

export const { list, create, getOne, remove, patch, schemas } = updatableRoutes({
  collection: "plugins",
  singular: "Plugin",
  reader: "viewer",
  answer: { version: z.string(), config: z.record(z.string(), z.unknown()) },
  fields: { version: Version, config: PluginConfig.optional() },
});

/** Without recursion, so a hostile document cannot exhaust the stack while being measured. */
function nestedDeeperThan(value: unknown, limit: number): boolean {
  const pending: Array<{ value: unknown; depth: number }> = [{ value, depth: 1 }];
  for (let next = pending.pop(); next; next = pending.pop()) {
    if (next.value === null || typeof next.value !== "object") continue;
    if (next.depth > limit) return true;
    for (const child of Object.values(next.value)) pending.push({ value: child, depth: next.depth + 1 });
  }
  return false;
}
