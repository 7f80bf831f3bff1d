/**
 * Per-tenant IP allowlists: which requests a tenant's list gates, whether a client address may
 * make them, the lock-out check on a change, and the record of a refusal.
 *
 * A list gates its tenant's API keys (`api_keys`) or every tenant-scoped request (`all`);
 * login and other routes that are not a tenant's are never gated, and system admins are
 * exempt, so an operator can always reach (and fix) a tenant. The client address is
 * `CF-Connecting-IP`; a request without one meets a non-empty list it is gated by with a
 * refusal (fail closed).
 */
import type { HttpDatabase } from "../../db/client";
import type { IpAllowlistScope } from "../../db/schema";
import { WriteBatch } from "../../db/write-batch";
import type { Config } from "../../env";
import { PrefixList } from "../../lib/cidr";
import { log } from "../../lib/log";
import { Problem } from "../../lib/problem";
import { TtlCache } from "../../lib/ttl-cache";
import type { Principal } from "../access/principal";
import { redisFor } from "../platform/redis";
import { type AuditContext, auditInsert } from "./audit";

export interface AllowlistSetting {
  ipAllowlist: readonly string[];
  ipAllowlistAppliesTo: IpAllowlistScope;
}

export interface Caller {
  principal: Principal;
  isSystemAdmin: boolean;
}

/** Refusals are audited (and logged) at most once per tenant and address in this window. */
const REFUSAL_WINDOW_SECONDS = 60;

/**
 * Compiled lists, by the list array of the tenant record that holds it: a record is read
 * once per cache lifetime (`tenant-directory.ts`), so each is compiled once, and dropped with it.
 */
const compiled = new WeakMap<readonly string[], PrefixList>();

/** Refusals this isolate has already recorded: a flood costs no Redis trip per request. */
const recorded = new TtlCache<true>(REFUSAL_WINDOW_SECONDS * 1000);

/** Forgets the refusals this isolate recorded, as a fresh isolate would (tests). */
export function clearRecordedRefusals(): void {
  recorded.clear();
}

/** Whether the setting gates this caller's tenant-scoped requests. */
export function gates(setting: AllowlistSetting, caller: Caller): boolean {
  if (setting.ipAllowlist.length === 0 || caller.isSystemAdmin) return false;
  return caller.principal.kind === "api_key" || setting.ipAllowlistAppliesTo === "all";
}

/** Whether the address is on the list; no address (off Cloudflare) is on none. */
export function admits(list: readonly string[], ip: string | null): boolean {
  if (ip === null) return false;
  let prefixes = compiled.get(list);
  if (!prefixes) {
    prefixes = new PrefixList(list);
    compiled.set(list, prefixes);
  }
  return prefixes.admits(ip);
}

/** The 403 of a gated request from an address off the list. */
export function notAllowed(ip: string | null): Problem {
  return new Problem(
    "ip_not_allowed",
    ip === null
      ? "This tenant accepts requests only from its IP allowlist, and this request has no client address."
      : `This tenant accepts requests only from its IP allowlist, and ${ip} is not on it.`,
  );
}

export interface AllowlistChange {
  ipAllowlist?: string[];
  ipAllowlistAppliesTo?: IpAllowlistScope;
}

/** What the write of an allowlist change must know from its check. */
export interface CheckedChange {
  /**
   * The stored values the check relied on (the part of the setting the change keeps, read from
   * the cached tenant): the write must find them unchanged.
   */
  read?: AllowlistChange;
  /** The change excludes the caller, who forced it. */
  forced: boolean;
}

/**
 * Refuses (409 `ip_allowlist_excludes_caller`) a change after which the caller's own next
 * request from the same address would be refused, unless `force`. System admins are exempt
 * from every list, so nothing a change does can lock them out.
 */
export function checkAllowlistChange(
  current: AllowlistSetting,
  change: AllowlistChange,
  caller: Caller,
  ip: string | null,
  force: boolean,
): CheckedChange {
  if (caller.isSystemAdmin) return { forced: false };
  if (change.ipAllowlist === undefined && change.ipAllowlistAppliesTo === undefined) return { forced: false };
  const next: AllowlistSetting = {
    ipAllowlist: change.ipAllowlist ?? current.ipAllowlist,
    ipAllowlistAppliesTo: change.ipAllowlistAppliesTo ?? current.ipAllowlistAppliesTo,
  };
  const excluded = gates(next, caller) && !admits(next.ipAllowlist, ip);
  if (excluded && !force) {
    const why = ip === null ? "this request has no client address" : `${ip} is not on the new list`;
    throw new Problem(
      "ip_allowlist_excludes_caller",
      `This change would lock its caller out (${why}). Send "force": true to apply it anyway.`,
    );
  }
  if (excluded) return { forced: true };
  const read: AllowlistChange = {};
  if (change.ipAllowlist === undefined) read.ipAllowlist = [...current.ipAllowlist];
  if (change.ipAllowlistAppliesTo === undefined) read.ipAllowlistAppliesTo = current.ipAllowlistAppliesTo;
  return { read, forced: false };
}

export interface RefusalContext {
  http: HttpDatabase;
  config: Config;
  audit: AuditContext;
}

/**
 * Writes the `tenant.ip_refused` audit record and a log line, at most once per (tenant,
 * address) a minute: within an isolate by memory, across isolates by a Redis key set only if
 * absent, with that expiry. Runs after the response. When Redis cannot be asked the refusal is
 * recorded anyway (the isolate's memory still bounds it): a missing record is worse than a
 * repeated one.
 */
export async function recordRefusal(
  ctx: RefusalContext,
  tenantId: string,
  meta: { applies_to: IpAllowlistScope; route: string },
): Promise<void> {
  const key = `${tenantId}|${ctx.audit.ip ?? "none"}`;
  if (recorded.get(key)) return;
  recorded.set(key, true);
  try {
    const first = await redisFor(ctx.config).set(`ip-refused:${key}`, 1, {
      nx: true,
      ex: REFUSAL_WINDOW_SECONDS,
    });
    if (first !== "OK") return;
  } catch (err) {
    log("warn", "IP refusal dedup unavailable; recording the refusal", {
      error: err instanceof Error ? err.message : String(err),
    });
  }
  log("warn", "request refused by the tenant's IP allowlist", {
    request_id: ctx.audit.requestId,
    tenant_id: tenantId,
    ip: ctx.audit.ip,
    ...meta,
  });
  const batch = new WriteBatch(ctx.http, { tenantId });
  batch.do(
    auditInsert(batch.db, ctx.audit, {
      tenantId,
      action: "tenant.ip_refused",
      targetType: "tenant",
      targetId: tenantId,
      meta,
    }),
  );
  await batch.run();
}
