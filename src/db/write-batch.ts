/**
 * Writes in ONE round trip. At the edge every trip to Postgres crosses the wide area, so a
 * write is built as a list of statements sent as one SQL-over-HTTP batch, which Neon runs as
 * one transaction: the RLS setting, the guards, the row, its audit record, its outbox job and
 * its idempotency record commit together or not at all.
 *
 * A batch cannot look at one statement's result before sending the next, so everything a
 * later statement needs is decided in the Worker (ids, timestamps, the response) and every
 * "stop here" is a guard statement: `select tenantry_fail(...) where <the write must not
 * go on>` raises, Postgres rolls the batch back, and `run` throws the problem it names
 * (migration 0007). Each statement gets its own snapshot (READ COMMITTED), so a guard
 * placed after a lock statement sees every write committed before the lock was granted.
 */
import { type SQL, sql } from "drizzle-orm";
import type { BatchItem } from "drizzle-orm/batch";
import { PROBLEM_CODES, Problem, type ProblemCode } from "../lib/problem";
import { findPgError, type HttpDatabase, runGuarded, systemSetting, tenantSetting } from "./client";

/** Where a batch runs: pinned to one tenant, or in system scope (optionally pinned as well). */
export type WriteScope = { tenantId: string } | { system: true; tenantId?: string };

/** A statement's result, readable once the batch has run. */
export interface Pending<T> {
  readonly value: T;
}

/** The problem code a guard raises when an idempotency key is already taken (never shown to clients). */
const CLAIM_TAKEN = "idempotency_claim_taken";
const GUARD_SQLSTATE = "TY001";

/** An earlier request holds this Idempotency-Key: the caller replays its answer instead. */
export class IdempotencyClaimTaken extends Error {
  constructor() {
    super("idempotency key already claimed");
    this.name = "IdempotencyClaimTaken";
  }
}

/** What the request will answer when the batch commits (stored for idempotent replays). */
export interface Answer {
  status: number;
  body: unknown;
}

/** Statements that must run when the write itself has been added: they see its rows. */
type Finisher = (batch: WriteBatch, answer: Answer | undefined) => void | Promise<void>;

export class WriteBatch {
  readonly db: HttpDatabase;
  private readonly items: BatchItem<"pg">[] = [];
  private readonly finishers: Finisher[] = [];
  private ran = false;
  /** Every statement's result, in order, once the batch has run. */
  private results: unknown[] | undefined;

  constructor(db: HttpDatabase, scope: WriteScope) {
    this.db = db;
    if ("system" in scope) this.items.push(db.execute(systemSetting));
    if (scope.tenantId !== undefined) this.items.push(db.execute(tenantSetting(scope.tenantId)));
  }

  /** Adds a statement; its result is `.value` after `run`. */
  add<T>(query: BatchItem<"pg"> & PromiseLike<T>): Pending<T> {
    const index = this.items.push(query) - 1;
    const batch = this;
    return {
      get value(): T {
        if (!batch.results) throw new Error("the batch has not run yet");
        return batch.results[index] as T;
      },
    };
  }

  /** Adds a statement whose result nobody reads (a lock, a guard, an audit insert). */
  do(statement: SQL | BatchItem<"pg">): void {
    this.items.push(isSql(statement) ? this.db.execute(statement) : statement);
  }

  /**
   * Fails the whole batch with `code` when `where` holds. `from` may name rows the detail and
   * extensions read (`(select count(*) as used from …) u`).
   */
  failWhen(
    where: SQL,
    problem: { code: ProblemCode | typeof CLAIM_TAKEN; detail: string | SQL; extensions?: SQL; from?: SQL },
  ): void {
    const extensions = problem.extensions ?? sql`'{}'::jsonb`;
    const from = problem.from ? sql` from ${problem.from}` : sql``;
    this.do(
      sql`select tenantry_fail(${problem.code}, ${problem.detail}::text, ${extensions})${from} where ${where}`,
    );
  }

  /** Runs `finish` just before the batch is sent, after every statement added so far. */
  beforeRun(finish: Finisher): void {
    this.finishers.push(finish);
  }

  /**
   * Sends the batch: one round trip, one transaction. Throws the problem a guard raised.
   * `answer` is what the request answers on success, decided before the batch runs.
   */
  async run(answer?: Answer): Promise<void> {
    if (this.ran) throw new Error("a write batch runs once");
    this.ran = true;
    for (const finish of this.finishers) await finish(this, answer);
    const [first, ...rest] = this.items;
    if (!first) throw new Error("an empty write batch");
    this.results = await runGuarded(() => this.db.batch([first, ...rest]), raisedProblem);
  }
}

/** The guard problem of an Idempotency-Key held by an earlier request (`claimInBatch`). */
export const takenClaim = { code: CLAIM_TAKEN, detail: "claimed" } as const;

/** The problem a `tenantry_fail` guard raised, or undefined for any other error. */
function raisedProblem(err: unknown): Error | undefined {
  const pg = findPgError(err);
  if (pg?.code !== GUARD_SQLSTATE) return undefined;
  const { code, extensions } = JSON.parse(pg.detail ?? "{}") as {
    code?: string;
    extensions?: Record<string, unknown>;
  };
  if (code === CLAIM_TAKEN) return new IdempotencyClaimTaken();
  if (!code || !(code in PROBLEM_CODES)) return new Error(`a write guard raised an unknown problem: ${code}`);
  return new Problem(code as ProblemCode, pg.message, { extensions: extensions ?? {} });
}

function isSql(value: SQL | BatchItem<"pg">): value is SQL {
  return typeof (value as SQL).getSQL === "function" && "queryChunks" in (value as object);
}
