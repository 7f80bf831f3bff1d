/**
 * A small client for the Neon API v2, enough to give a dedicated tenant its own Postgres:
 * one Neon project per tenant, in the tenant's region. It needs nothing but `fetch`, so it
 * runs in the Worker. Every non-2xx answer becomes a `NeonApiError` (whose message never
 * holds the API key); a 429 is retried after the server's `Retry-After`, at most three tries.
 *
 * Shapes follow Neon's API reference (https://neon.com/docs/reference/api/projects/create-project,
 * .../projects/get-connection-uri, https://neon.com/docs/reference/api/key-concepts). Where
 * the docs left something open, the comment at the spot says what is assumed.
 */

export const NEON_API_BASE_URL = "https://console.neon.tech/api/v2";

/** The product's region names mapped to Neon region ids; deployments may override it. */
export const DEFAULT_NEON_REGIONS: Readonly<Record<string, string>> = Object.freeze({
  "us-east": "aws-us-east-2",
  "eu-central": "aws-eu-central-1",
  "ap-southeast": "aws-ap-southeast-1",
});

/**
 * What a project made without naming them gets (Neon's create-project docs): the database
 * and its owner role. The provisioner migrates as that owner.
 */
export const NEON_DEFAULT_DATABASE = "neondb";
export const NEON_DEFAULT_OWNER_ROLE = "neondb_owner";

/** Neon supports 14–18; 17 is the version its own create-project example uses. */
const DEFAULT_PG_VERSION = 17;
const MAX_ATTEMPTS = 3;
/** A longer `Retry-After` is not waited out here: the caller (a queued job) retries later. */
const MAX_RETRY_AFTER_MS = 10_000;
/** When a 429 comes without a usable `Retry-After`; the docs ask for a backoff. */
const FALLBACK_RETRY_MS = 1_000;
const MAX_ERROR_MESSAGE_CHARS = 300;
/** The operation statuses of the key-concepts page that mean "done, and fine". */
const DONE_STATUSES = new Set(["finished", "skipped"]);
const FAILED_STATUSES = new Set(["failed", "cancelled"]);

/** A non-2xx answer (or an unreadable 2xx one) from the Neon API. */
export class NeonApiError extends Error {
  override readonly name = "NeonApiError";
  constructor(
    readonly status: number,
    readonly method: string,
    readonly path: string,
    /** The API's own message (`{ code, message }` is Neon's error body). */
    readonly apiMessage: string,
    readonly code?: string,
  ) {
    super(`Neon API ${method} ${path} answered ${status}: ${apiMessage}`);
  }
}

/** A project's operations failed, or did not finish in time. */
export class NeonOperationsError extends Error {
  override readonly name = "NeonOperationsError";
  constructor(
    readonly projectId: string,
    readonly reason: "failed" | "timeout",
    message: string,
  ) {
    super(message);
  }
}

export interface NeonApiOptions {
  apiKey: string;
  baseUrl?: string;
  fetch?: typeof fetch;
}

export interface ConnectionUriOptions {
  database: string;
  role: string;
  pooled: boolean;
}

/** The largest page the list-projects endpoint serves. */
const PROJECTS_PAGE_LIMIT = 400;

export interface NeonProject {
  id: string;
  name: string;
  region_id: string;
}

interface Operation {
  id: string;
  action?: string;
  status: string;
}

interface ConnectionDetails {
  connection_uri: string;
  connection_parameters?: { database?: string; role?: string; host?: string; pooler_host?: string };
}

interface CreatedProject {
  project: { id: string };
  connection_uris?: ConnectionDetails[];
  databases?: { name: string; owner_name: string }[];
}

/** The Neon region id configured for one of the product's regions. */
export function neonRegionId(region: string, map: Readonly<Record<string, string>>): string {
  const id = Object.hasOwn(map, region) ? map[region] : undefined;
  if (!id) {
    const known = Object.keys(map).join(", ") || "none";
    throw new Error(`no Neon region is configured for region "${region}" (configured: ${known})`);
  }
  return id;
}

export class NeonApi {
  readonly #apiKey: string;
  readonly #baseUrl: string;
  readonly #fetch: typeof fetch;

  constructor(opts: NeonApiOptions) {
    if (!opts.apiKey) throw new Error("NeonApi needs an API key");
    this.#apiKey = opts.apiKey;
    this.#baseUrl = (opts.baseUrl ?? NEON_API_BASE_URL).replace(/\/+$/, "");
    // Wrapped: the Workers runtime rejects a global fetch called with another `this`.
    this.#fetch = opts.fetch ?? ((input, init) => fetch(input, init));
  }

  /**
   * Creates a project and answers its pooled connection URI for the default database and
   * role. Its operations (compute start, …) may still be running: see `waitForOperations`.
   */
  async createProject(args: {
    name: string;
    regionId: string;
    pgVersion?: number;
  }): Promise<{ projectId: string; connectionUri: string }> {
    const created = await this.#request<CreatedProject>("POST", "/projects", {
      body: {
        project: {
          name: args.name,
          region_id: args.regionId,
          pg_version: args.pgVersion ?? DEFAULT_PG_VERSION,
        },
      },
    });
    const projectId = created.project.id;
    const pooled = pooledUri(created.connection_uris?.[0]);
    if (pooled) return { projectId, connectionUri: pooled };
    const database = created.databases?.[0];
    if (!database) {
      throw new NeonApiError(201, "POST", "/projects", "the created project lists no database to connect to");
    }
    const connectionUri = await this.connectionUri(projectId, {
      database: database.name,
      role: database.owner_name,
      pooled: true,
    });
    return { projectId, connectionUri };
  }

  /** Polls the project's operations until every one is done; throws on a failure or at `timeoutMs`. */
  async waitForOperations(projectId: string, opts: { timeoutMs: number; pollMs: number }): Promise<void> {
    const deadline = Date.now() + opts.timeoutMs;
    for (;;) {
      // Assumed: one page (the endpoint's default limit) covers a fresh project's few operations.
      const { operations } = await this.#request<{ operations: Operation[] }>(
        "GET",
        `/projects/${encodeURIComponent(projectId)}/operations`,
      );
      const failed = operations.find((op) => FAILED_STATUSES.has(op.status));
      if (failed) {
        throw new NeonOperationsError(
          projectId,
          "failed",
          `Neon operation ${failed.id} (${failed.action ?? "unknown action"}) of project ${projectId} ${failed.status}`,
        );
      }
      if (operations.every((op) => DONE_STATUSES.has(op.status))) return;
      const left = deadline - Date.now();
      if (left <= 0) {
        const pending = operations.filter((op) => !DONE_STATUSES.has(op.status)).length;
        throw new NeonOperationsError(
          projectId,
          "timeout",
          `${pending} Neon operation(s) of project ${projectId} still running after ${opts.timeoutMs} ms`,
        );
      }
      await sleep(Math.min(opts.pollMs, left));
    }
  }

  async connectionUri(projectId: string, opts: ConnectionUriOptions): Promise<string> {
    const { uri } = await this.#request<{ uri: string }>(
      "GET",
      `/projects/${encodeURIComponent(projectId)}/connection_uri`,
      { query: { database_name: opts.database, role_name: opts.role, pooled: String(opts.pooled) } },
    );
    return uri;
  }

  /** The project, or undefined when the API does not know it (404). */
  async getProject(projectId: string): Promise<NeonProject | undefined> {
    try {
      const { project } = await this.#request<{ project: NeonProject }>(
        "GET",
        `/projects/${encodeURIComponent(projectId)}`,
      );
      return project;
    } catch (err) {
      if (err instanceof NeonApiError && err.status === 404) return undefined;
      throw err;
    }
  }

  /**
   * The project named exactly `name`, if any. The API's `search` matches names partially, so
   * the answers are filtered here, page by page until a short page.
   */
  async findProject(name: string): Promise<NeonProject | undefined> {
    let cursor: string | undefined;
    for (;;) {
      const query: Record<string, string> = { search: name, limit: String(PROJECTS_PAGE_LIMIT) };
      if (cursor) query.cursor = cursor;
      const page = await this.#request<{ projects: NeonProject[]; pagination?: { cursor?: string } }>(
        "GET",
        "/projects",
        { query },
      );
      const found = page.projects.find((project) => project.name === name);
      if (found) return found;
      cursor = page.pagination?.cursor;
      if (page.projects.length < PROJECTS_PAGE_LIMIT || !cursor) return undefined;
    }
  }

  /** Deletes the project; one that is already gone (404) counts as deleted. */
  async deleteProject(projectId: string): Promise<void> {
    try {
      await this.#request("DELETE", `/projects/${encodeURIComponent(projectId)}`);
    } catch (err) {
      if (err instanceof NeonApiError && err.status === 404) return;
      throw err;
    }
  }

  async #request<T>(
    method: string,
    path: string,
    opts: { query?: Record<string, string>; body?: unknown } = {},
  ): Promise<T> {
    const url = new URL(`${this.#baseUrl}${path}`);
    for (const [name, value] of Object.entries(opts.query ?? {})) url.searchParams.set(name, value);
    const headers: Record<string, string> = {
      authorization: `Bearer ${this.#apiKey}`,
      accept: "application/json",
    };
    if (opts.body !== undefined) headers["content-type"] = "application/json";
    const body = opts.body === undefined ? undefined : JSON.stringify(opts.body);

    for (let attempt = 1; ; attempt++) {
      const res = await this.#fetch(url, { method, headers, body });
      if (res.status === 429 && attempt < MAX_ATTEMPTS) {
        const waitMs = retryAfterMs(res.headers.get("retry-after"), attempt);
        if (waitMs <= MAX_RETRY_AFTER_MS) {
          await res.body?.cancel();
          await sleep(waitMs);
          continue;
        }
      }
      if (!res.ok) throw await this.#apiError(res, method, path);
      try {
        return (await res.json()) as T;
      } catch {
        throw new NeonApiError(res.status, method, path, "the answer is not JSON");
      }
    }
  }

  async #apiError(res: Response, method: string, path: string): Promise<NeonApiError> {
    const text = await res.text().catch(() => "");
    let message = text.slice(0, MAX_ERROR_MESSAGE_CHARS) || res.statusText || "no message";
    let code: string | undefined;
    try {
      const parsed = JSON.parse(text) as { message?: unknown; code?: unknown };
      if (typeof parsed.message === "string" && parsed.message) message = parsed.message;
      if (typeof parsed.code === "string" && parsed.code) code = parsed.code;
    } catch {
      // Not JSON (a proxy's HTML page, say): the text itself is the message.
    }
    // Whatever the API echoes, the key stays out of messages that reach logs.
    return new NeonApiError(res.status, method, path, message.replaceAll(this.#apiKey, "[redacted]"), code);
  }
}

/**
 * The pooled form of a connection the API answered. Neon's docs: the pooled and direct
 * hostnames differ only by the `-pooler` suffix, and `connection_parameters.pooler_host`
 * names the pooled one. Undefined when the answer lacks what this needs.
 */
function pooledUri(details: ConnectionDetails | undefined): string | undefined {
  const host = details?.connection_parameters?.host;
  const poolerHost = details?.connection_parameters?.pooler_host;
  if (!details?.connection_uri || !host || !poolerHost) return undefined;
  const url = new URL(details.connection_uri);
  if (url.hostname !== host) return undefined;
  url.hostname = poolerHost;
  return url.toString();
}

/** `Retry-After` as seconds or an HTTP date; a backoff by attempt when absent or unreadable. */
function retryAfterMs(header: string | null, attempt: number): number {
  const value = header?.trim() ?? "";
  if (/^\d+$/.test(value)) return Number(value) * 1000;
  const date = Date.parse(value);
  if (!Number.isNaN(date)) return Math.max(0, date - Date.now());
  return FALLBACK_RETRY_MS * 2 ** (attempt - 1);
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
