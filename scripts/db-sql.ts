/**
 * `npm run db:sql -- [--tenant <slug|uuid>] "<sql>"`: runs one statement as the owner of the
 * local stack's control database (MIGRATION_DATABASE_URL from the environment, else from
 * `.dev.vars`), or, with `--tenant`, of that tenant's dedicated database (a `local` one, in
 * the same Postgres), and prints the rows as `psql -At` would: one line each, `|` between
 * columns. For looking where a tenant's rows are without installing psql; psql works as well.
 *
 *   npm run db:sql -- --tenant initech "select count(*) from clusters"
 */
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import pg from "pg";
import { MissingVariables, resolveVars } from "../dev/dev-vars";
import { errorText, withDatabase } from "../dev/migrate";

export async function runSql(opts: { ownerUrl: string; tenant?: string; sql: string }): Promise<string[]> {
  const url = opts.tenant ? await tenantDatabaseUrl(opts.ownerUrl, opts.tenant) : opts.ownerUrl;
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    const result = await client.query({ text: opts.sql, rowMode: "array" });
    const rows = (Array.isArray(result) ? result.at(-1) : result) as pg.QueryArrayResult;
    return (rows.rows ?? []).map((row) => row.map(cell).join("|"));
  } finally {
    await client.end();
  }
}

/** A value as psql prints it: empty for null, JSON for json and jsonb. */
function cell(value: unknown): string {
  if (value === null || value === undefined) return "";
  if (value instanceof Date) return value.toISOString();
  return typeof value === "object" ? JSON.stringify(value) : String(value);
}

/** The owner URL of the tenant's dedicated database: the control one's, with the database swapped. */
async function tenantDatabaseUrl(ownerUrl: string, tenant: string): Promise<string> {
  const client = new pg.Client({ connectionString: ownerUrl });
  await client.connect();
  try {
    const { rows } = await client.query<{ ref: string; provider: string }>(
      `select d.ref, d.provider from tenants t join tenant_databases d on d.id = t.database_id
       where t.slug = $1 or t.id::text = $1`,
      [tenant],
    );
    const row = rows[0];
    if (!row) throw new Error(`${tenant} is not a dedicated tenant (its rows are in the control database)`);
    if (row.provider !== "local")
      throw new Error(`${tenant}'s database is a ${row.provider} one: connect to it there`);
    return withDatabase(ownerUrl, row.ref);
  } finally {
    await client.end();
  }
}

async function main(): Promise<void> {
  const { values, positionals } = parseArgs({
    options: { tenant: { type: "string" } },
    allowPositionals: true,
  });
  const sql = positionals.join(" ").trim();
  if (!sql) throw new Error('usage: npm run db:sql -- [--tenant <slug|uuid>] "<sql>"');
  const { values: vars } = resolveVars(["MIGRATION_DATABASE_URL"]);
  const lines = await runSql({
    ownerUrl: vars.MIGRATION_DATABASE_URL as string,
    ...(values.tenant ? { tenant: values.tenant } : {}),
    sql,
  });
  for (const line of lines) console.log(line);
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  main().catch((err: unknown) => {
    console.error(`db:sql: ${err instanceof MissingVariables ? err.message : errorText(err)}`);
    process.exit(1);
  });
}
