/**
 * `npm run admin:create -- --email <email> [--generate]`: creates the first system admin, or
 * promotes the existing user with that (normalised) email. Works against Neon or the local
 * stack: DATABASE_URL (the runtime role, in the system scope) from the environment, else
 * from `.dev.vars`.
 *
 * The password of a new account is one line on stdin (the password policy applies), or, with
 * `--generate` or when stdin is a terminal, a generated temporary password printed once: it
 * must be changed at first sign-in and expires after 7 days. A given password is never
 * printed; an existing user keeps theirs. Audited as `system`. Re-running changes nothing.
 *
 *   printf '%s\n' "$ADMIN_PASSWORD" | npm run admin:create -- --email ops@example.com
 *   npm run admin:create -- --email ops@example.com --generate
 */
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import pg from "pg";
import { z } from "zod";
import { MissingVariables, resolveVars } from "../dev/dev-vars";
import { errorText } from "../dev/migrate";
import { hashPassword } from "../dev/passwords";
import { passwordIssues } from "../src/lib/password-policy";
import { newTemporaryPassword, TEMPORARY_PASSWORD_TTL_MS } from "../src/lib/temporary-passwords";

/** Serialises concurrent runs, so two of them cannot both create the same admin. */
const LOCK_KEY = "tenantry.admin-create";
const EMAIL = z.email().max(254);

export type PasswordInput = { kind: "given"; password: string } | { kind: "generate" };

export interface AdminCreateResult {
  outcome: "created" | "promoted" | "unchanged";
  userId: string;
  email: string;
  /** Only when this run created the account with a generated password. */
  temporaryPassword?: string;
  expiresAt?: Date;
}

/** A mistake in the command's input, reported without a stack trace. */
export class AdminCreateRefused extends Error {}

export async function createSystemAdmin(opts: {
  databaseUrl: string;
  email: string;
  password: PasswordInput;
}): Promise<AdminCreateResult> {
  const email = opts.email.trim();
  if (!EMAIL.safeParse(email).success) throw new AdminCreateRefused(`"${email}" is not an email address.`);
  if (opts.password.kind === "given") {
    const issues = passwordIssues(opts.password.password, email);
    if (issues.length > 0) {
      throw new AdminCreateRefused(
        `the password does not meet the password policy: ${issues.map((i) => i.message).join("; ")}.`,
      );
    }
  }

  const client = new pg.Client({ connectionString: opts.databaseUrl });
  await client.connect();
  try {
    await client.query("begin");
    // Audit rows are tenant data under RLS; a system record needs the explicit system scope.
    await client.query("select set_config('app.scope', 'system', true)");
    await client.query("select pg_advisory_xact_lock(hashtext($1))", [LOCK_KEY]);
    const result = await createOrPromote(client, email, opts.password);
    await client.query("commit");
    return result;
  } catch (err) {
    await client.query("rollback").catch(() => {});
    throw err;
  } finally {
    await client.end();
  }
}

async function createOrPromote(
  client: pg.Client,
  email: string,
  password: PasswordInput,
): Promise<AdminCreateResult> {
  const found = await client.query<{ id: string; email: string; is_system_admin: boolean }>(
    "select id, email, is_system_admin from users where email_normalized = lower(normalize($1::text, NFKC))",
    [email],
  );
  const existing = found.rows[0];
  if (existing?.is_system_admin) return { outcome: "unchanged", userId: existing.id, email: existing.email };
  if (existing) {
    await client.query("update users set is_system_admin = true, updated_at = now() where id = $1", [
      existing.id,
    ]);
    await audit(client, "user.promoted_to_system_admin", existing.id, { email: existing.email });
    return { outcome: "promoted", userId: existing.id, email: existing.email };
  }

  const temporary = password.kind === "generate" ? newTemporaryPassword() : undefined;
  const expiresAt = temporary ? new Date(Date.now() + TEMPORARY_PASSWORD_TTL_MS) : undefined;
  const created = await client.query<{ id: string; email: string }>(
    `insert into users (email, password_hash, is_system_admin, must_change_password, password_expires_at)
     values ($1, $2, true, $3, $4) returning id, email`,
    [
      email,
      await hashPassword(temporary ?? (password as { password: string }).password),
      temporary !== undefined,
      expiresAt ?? null,
    ],
  );
  const user = created.rows[0];
  if (!user) throw new Error("the user insert returned no row");
  await audit(client, "user.system_admin_created", user.id, {
    email: user.email,
    temporary_password: temporary !== undefined,
  });
  return {
    outcome: "created",
    userId: user.id,
    email: user.email,
    ...(temporary !== undefined ? { temporaryPassword: temporary, expiresAt } : {}),
  };
}

async function audit(client: pg.Client, action: string, userId: string, meta: Record<string, unknown>) {
  await client.query(
    `insert into audit_events (tenant_id, actor_type, actor_id, action, target_type, target_id, meta)
     values (null, 'system', null, $1, 'user', $2, $3)`,
    [action, userId, JSON.stringify({ ...meta, via: "admin:create" })],
  );
}

/** One line from a piped stdin; a terminal (or `--generate`) gets a generated password instead. */
async function passwordInput(generate: boolean): Promise<{ input: PasswordInput; note?: string }> {
  if (generate) return { input: { kind: "generate" } };
  if (process.stdin.isTTY) {
    return {
      input: { kind: "generate" },
      note: "stdin is a terminal, so a temporary password is generated (pipe one line to set your own).",
    };
  }
  let text = "";
  for await (const chunk of process.stdin) text += chunk;
  const password = text.split(/\r?\n/)[0] ?? "";
  if (!password) {
    throw new AdminCreateRefused(
      "no password on stdin: pipe one line (printf '%s\\n' \"$PASSWORD\" | npm run admin:create -- --email …), or pass --generate for a temporary password.",
    );
  }
  return { input: { kind: "given", password } };
}

function report(result: AdminCreateResult, input: PasswordInput): string[] {
  const who = `${result.email} (user ${result.userId})`;
  switch (result.outcome) {
    case "unchanged":
      return [`${who} is already a system admin: nothing changed.`];
    case "promoted":
      return [
        `Promoted ${who} to system admin; their password is unchanged${input.kind === "given" ? " (the one given was not used)" : ""}.`,
        "Audited as system: user.promoted_to_system_admin.",
      ];
    case "created":
      return [
        `Created system admin ${who}.`,
        ...(result.temporaryPassword
          ? [
              `Temporary password, shown once (must be changed at first sign-in; expires ${result.expiresAt?.toISOString()}):`,
              "",
              `    ${result.temporaryPassword}`,
              "",
            ]
          : ["Password: the one given on stdin."]),
        "Audited as system: user.system_admin_created.",
      ];
  }
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: { email: { type: "string" }, generate: { type: "boolean", default: false } },
    strict: true,
  });
  if (!values.email) {
    throw new AdminCreateRefused(
      "usage: npm run admin:create -- --email <email> [--generate] (password on stdin)",
    );
  }
  const { values: vars, source } = resolveVars(["DATABASE_URL"]);
  const { input, note } = await passwordInput(values.generate);
  if (note) console.log(note);
  console.log(`admin:create: DATABASE_URL from ${source}`);
  const result = await createSystemAdmin({
    databaseUrl: vars.DATABASE_URL as string,
    email: values.email,
    password: input,
  });
  for (const line of report(result, input)) console.log(line);
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  try {
    await main();
  } catch (err) {
    const refused =
      err instanceof AdminCreateRefused ||
      err instanceof MissingVariables ||
      (err as { code?: string }).code?.startsWith("ERR_PARSE_ARGS");
    console.error(`admin:create ${refused ? "refused" : "failed"}: ${errorText(err)}`);
    process.exit(1);
  }
}
