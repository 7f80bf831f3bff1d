/**
 * Who an email to "the tenant's admins" goes to, as SQL: every user with the admin role in
 * the tenant. The writers that notify admins (tenant lifecycle, API key reminders, a webhook
 * endpoint disabled for failing) insert one notifications row per admin with
 * `insert … select … from <tenant rows> ${adminsOf(tenantId)}`, so the change and its emails
 * stay one statement and one transaction.
 */
import { type SQL, sql } from "drizzle-orm";
import { tenantMemberships, users } from "../db/schema";

/** Joins the admins of the tenant `tenantId` (a column or value) as rows of `users`. */
export function adminsOf(tenantId: SQL): SQL {
  return sql`join ${tenantMemberships} on ${tenantMemberships.tenantId} = ${tenantId} and ${tenantMemberships.role} = 'admin'
             join ${users} on ${users.id} = ${tenantMemberships.userId}`;
}
