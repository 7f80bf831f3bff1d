/**
 * `POST /v1/databases` (create and migrate a dedicated tenant's database) and
 * `DELETE /v1/databases/{ref}` (drop it), authenticated like `/v1/jobs`: a token bound to the
 * body's bytes, with `kind` create_database / drop_database and the tenant's id as `sub` and
 * `tenant_id`. The DELETE carries `{tenant_id, ref}` as its body so the token binds the ref.
 * Connection strings leave only in a create's answer: never in a log line or a problem.
 */
import {
  CREATE_DATABASE_KIND,
  type CreateDatabaseResponse,
  createDatabaseRequestSchema,
  DROP_DATABASE_KIND,
  type DropDatabaseResponse,
  dropDatabaseRequestSchema,
} from "@tenantry/contract";
import { type Context, Hono, type MiddlewareHandler } from "hono";
import type { RequestIdVariables } from "hono/request-id";
import type { z } from "zod";
import { NeonApiError, NeonOperationsError } from "../../../src/databases/neon-api";
import { admitRequest } from "../admission";
import { type RequestClaims, TokenError } from "../auth";
import type { Logger } from "../log";
import { Problem } from "../problem";
import type { ReplayCache } from "../replay-cache";
import { errorText, MigrationRefused } from "./migrate-database";
import { DatabaseConflict, type TenantDatabases, UnknownRegion } from "./tenant-databases";

/** Errors of a connection that never got to run a statement: worth retrying later. */
const UNAVAILABLE_CODES = new Set([
  "ECONNREFUSED",
  "ECONNRESET",
  "ETIMEDOUT",
  "ENOTFOUND",
  "EAI_AGAIN",
  "57P03", // cannot_connect_now
  "53300", // too_many_connections
]);

export interface DatabaseRouteDeps {
  /** Undefined with DATABASE_PROVIDER=none: every request answers 503 databases_unavailable. */
  databases: TenantDatabases | undefined;
  key: Uint8Array;
  replayCache: ReplayCache;
  log: Logger;
  /** Runs an authentication step, counting its refusals (app.ts). */
  authenticate: <T>(step: () => Promise<T>) => Promise<T>;
  limitBody: MiddlewareHandler;
}

export function databaseRoutes(deps: DatabaseRouteDeps): Hono<{ Variables: RequestIdVariables }> {
  const { log } = deps;
  const app = new Hono<{ Variables: RequestIdVariables }>();

  const configured = (): TenantDatabases => {
    if (!deps.databases) {
      throw new Problem(
        "databases_unavailable",
        "this provisioner has no database provider (DATABASE_PROVIDER=none)",
      );
    }
    return deps.databases;
  };

  /** Logs the outcome of one request without its secrets, and turns failures into problems. */
  const run = async <T>(
    fields: Record<string, unknown>,
    step: () => Promise<T>,
    done: (answer: T) => Record<string, unknown>,
  ) => {
    const started = performance.now();
    try {
      const answer = await step();
      log({ level: "info", msg: "database", ...fields, ...done(answer), duration_ms: elapsed(started) });
      return answer;
    } catch (err) {
      const problem = databaseProblem(err);
      log({
        level: "error",
        msg: "database failed",
        ...fields,
        code: problem.code,
        error: problem.message,
        duration_ms: elapsed(started),
      });
      throw problem;
    }
  };

  /** The request's body, admitted only with a token issued for exactly it, its tenant and `kind`. */
  const admit = <S extends z.ZodType<{ tenant_id: string }>>(c: Context, schema: S, kind: string) =>
    deps.authenticate(() =>
      admitRequest({
        authorization: c.req.header("authorization"),
        readBody: () => c.req.arrayBuffer(),
        key: deps.key,
        replayCache: deps.replayCache,
        schema,
        noun: "the database request",
        matches: issuedFor(kind),
      }),
    );

  app.post("/", deps.limitBody, async (c) => {
    const req = await admit(c, createDatabaseRequestSchema, CREATE_DATABASE_KIND);
    const databases = configured();
    const fields = {
      request_id: c.get("requestId"),
      kind: CREATE_DATABASE_KIND,
      tenant_id: req.tenant_id,
      provider: databases.provider,
      region: req.region,
    };
    const created = await run(
      fields,
      () => databases.create({ tenantId: req.tenant_id, region: req.region }),
      (db) => ({ ref: db.ref }),
    );
    const answer: CreateDatabaseResponse = {
      provider: databases.provider,
      ref: created.ref,
      region: created.region,
      connection_string: created.connectionString,
    };
    return c.json(answer);
  });

  app.delete("/:ref", deps.limitBody, async (c) => {
    const req = await admit(c, dropDatabaseRequestSchema, DROP_DATABASE_KIND);
    if (req.ref !== c.req.param("ref")) {
      throw new Problem("validation_failed", "the ref in the path and the ref in the body differ", [
        { path: "ref", message: "must equal the ref in the path", code: "custom" },
      ]);
    }
    const databases = configured();
    const fields = {
      request_id: c.get("requestId"),
      kind: DROP_DATABASE_KIND,
      tenant_id: req.tenant_id,
      provider: databases.provider,
      ref: req.ref,
    };
    const status = await run(
      fields,
      () => databases.drop({ tenantId: req.tenant_id, ref: req.ref }),
      (outcome) => ({ status: outcome }),
    );
    const answer: DropDatabaseResponse = { ref: req.ref, status };
    return c.json(answer);
  });

  return app;
}

/** A database token names the tenant as `sub` and `tenant_id`, and the request's kind. */
function issuedFor(kind: string) {
  return (claims: RequestClaims, body: { tenant_id: string }) => {
    if (claims.kind !== kind || claims.sub !== body.tenant_id || claims.tenant_id !== body.tenant_id) {
      throw new TokenError("invalid_token", "the token was issued for a different tenant or kind");
    }
  };
}

/** What went wrong at the provider, as a problem whose detail holds no credential. */
export function databaseProblem(err: unknown): Problem {
  if (err instanceof Problem) return err;
  if (err instanceof DatabaseConflict) return new Problem("conflict", err.message);
  if (err instanceof UnknownRegion) {
    return new Problem("validation_failed", err.message, [
      { path: "region", message: err.message, code: "unknown_region" },
    ]);
  }
  if (err instanceof NeonOperationsError) {
    return err.reason === "timeout"
      ? new Problem("database_pending", `${err.message}; send the request again later`)
      : new Problem("database_provider_error", err.message);
  }
  if (err instanceof NeonApiError) {
    const retryable = err.status === 429 || err.status >= 500;
    return new Problem(retryable ? "database_provider_unavailable" : "database_provider_error", err.message);
  }
  if (err instanceof MigrationRefused) return new Problem("database_migration_failed", redact(err.message));
  const cause = err instanceof Error && err.name === "DrizzleQueryError" && err.cause ? err.cause : err;
  const code = errorCode(cause);
  if (code === undefined) return new Problem("internal", "the provisioner failed unexpectedly");
  const detail = redact(errorText(cause));
  if (UNAVAILABLE_CODES.has(code)) return new Problem("database_provider_unavailable", detail);
  return new Problem(cause === err ? "database_provider_error" : "database_migration_failed", detail);
}

/** pg's SQLSTATE or Node's network code; pg reports a refused connection as an AggregateError. */
function errorCode(err: unknown): string | undefined {
  if (err instanceof AggregateError && err.errors.length > 0) return errorCode(err.errors[0]);
  const code = (err as { code?: unknown } | null)?.code;
  return typeof code === "string" ? code : undefined;
}

/** Belt and braces: no message may carry the credentials of a URL. */
function redact(text: string): string {
  return text.replace(/(\b[a-z][a-z0-9+.-]*:\/\/)[^\s/@]*@/gi, "$1[redacted]@");
}

function elapsed(started: number): number {
  return Math.round(performance.now() - started);
}
