import { defineConfig } from "drizzle-kit";

/** Generation only needs the schema; migrations are applied by dev/migrate.ts with drizzle's migrator. */
export default defineConfig({
  dialect: "postgresql",
  schema: "./src/db/schema.ts",
  out: "./drizzle",
  entities: { roles: true },
  dbCredentials: { url: process.env.DATABASE_URL ?? "postgres://localhost/tenantry" },
});
