/**
 * The daily reminder about API keys that expire within a week: one email per key and tenant
 * admin, at most once. Each row's id is derived from the key and the admin, so a second run,
 * or two overlapping ones, insert nothing new. The keys come from `tenantry_expiring_api_keys`
 * (migration 0011), which reads each active tenant's keys under that tenant's RLS; revoked
 * keys are left alone. At most `batchSize` reminders a run, soonest expiry first. Each such key
 * is also an `api_key.expiring` webhook event, once (the reconcile cron queues it).
 */
import { sql } from "drizzle-orm";
import { type DatabaseHandle, type Tx, withSystem } from "../db/client";
import { notifications, tenants, users, webhookDeliveries } from "../db/schema";
import type { Bindings, Config } from "../env";
import { clock, DAY_MS } from "../lib/clock";
import { adminsOf } from "./admins";
import { sendNotifications } from "./outbox";

export const EXPIRY_NOTICE_DAYS = 7;

export async function notifyExpiringKeys(
  handle: DatabaseHandle,
  opts: { now: number; batchSize: number },
): Promise<string[]> {
  const now = new Date(opts.now).toISOString();
  const horizon = new Date(opts.now + EXPIRY_NOTICE_DAYS * DAY_MS).toISOString();
  // A uuid derived from (key, admin): md5 with its version nibble set to 5 and its variant to
  // RFC 9562's, so it is a valid uuid wherever ids are checked (the queue message's schema).
  const reminderId = sql`overlay(overlay(md5(k.id::text || ':' || ${users.id}::text || ':api_key_expiring') placing '5' from 13) placing '8' from 17)::uuid`;
  return withSystem(handle.db, async (tx) => {
    const result = await tx.execute<{ id: string }>(
      sql`insert into ${notifications} (id, tenant_id, channel, recipient, template, payload, next_attempt_at, created_at)
          select ${reminderId}, ${tenants.id}, 'email', ${users.email}, 'api_key_expiring',
                 jsonb_build_object(
                   'tenant_name', ${tenants.name}, 'tenant_slug', ${tenants.slug},
                   'api_key_id', k.id, 'key_name', k.name, 'key_prefix', k.prefix,
                   'expires_at', to_char(k.expires_at at time zone 'utc', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"')),
                 ${now}::timestamptz, ${now}::timestamptz
          from tenantry_expiring_api_keys(${horizon}::timestamptz) k
          join ${tenants} on ${tenants.id} = k.tenant_id ${adminsOf(sql`k.tenant_id`)}
          where not exists (select 1 from ${notifications} n where n.id = ${reminderId})
          order by k.expires_at, k.id, ${users.id}
          limit ${opts.batchSize}
          on conflict (id) do nothing
          returning id`,
    );
    await emitExpiringKeyEvents(tx, horizon);
    return result.rows.map((row) => row.id);
  });
}

/**
 * One `api_key.expiring` webhook event per key expiring before `horizon`, once (overlapping
 * runs take turns on a lock), for the tenants whose endpoints subscribe to it.
 */
export async function emitExpiringKeyEvents(tx: Tx, horizon: string): Promise<void> {
  await tx.execute(sql`select pg_advisory_xact_lock(hashtextextended('webhooks:api_key.expiring', 0))`);
  await tx.execute(
    sql`select tenantry_emit_webhook_event(k.tenant_id, 'api_key.expiring', jsonb_build_object(
          'api_key_id', k.id, 'name', k.name, 'prefix', k.prefix,
          'expires_at', to_char(k.expires_at at time zone 'utc', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"')))
        from tenantry_expiring_api_keys(${horizon}::timestamptz) k
        where not exists (
          select 1 from ${webhookDeliveries} d
          where d.tenant_id = k.tenant_id and d.event_type = 'api_key.expiring'
            and d.payload -> 'data' ->> 'api_key_id' = k.id::text)`,
  );
}

/** The daily cron's task: write the reminders, then send them. */
export const expiringKeysTask = {
  name: "api-keys-expiring",
  run: async (handle: DatabaseHandle, env: Bindings, config: Config): Promise<Record<string, unknown>> => {
    const ids = await notifyExpiringKeys(handle, {
      now: clock.now(),
      batchSize: config.RECONCILE_BATCH_SIZE,
    });
    await sendNotifications(env.NOTIFY_QUEUE, ids);
    return { reminders: ids.length };
  },
};
