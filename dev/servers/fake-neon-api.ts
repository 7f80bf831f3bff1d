/**
 * A strict stand-in for the Neon API v2 (the part `src/databases/neon-api.ts` uses), so the
 * client is tested against something that rejects what the real API would, and more: a
 * request the client should never send (no bearer, wrong key, a body that is not JSON,
 * unknown fields, an unconfigured region) is refused here rather than in production.
 *
 * Serves under `<url>` (which ends in `/api/v2`, like the real base URL):
 *   POST   /projects                          {project: {name?, region_id, pg_version?}} → 201
 *   GET    /projects                          ?search=&limit=&cursor= → {projects, pagination}
 *   GET    /projects/{id}                     → {project}
 *   DELETE /projects/{id}                     → 200 {project}
 *   GET    /projects/{id}/operations          → {operations, pagination}
 *   GET    /projects/{id}/connection_uri      ?database_name=&role_name=&pooled= → {uri}
 * Errors answer Neon's `{code, message}` body. The `code` values are assumed (the docs
 * only say the field exists).
 */
import { randomBytes, randomUUID } from "node:crypto";
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import { closeServer, HttpError, listen, readJsonBody, sendJson } from "../http-server";

export interface FakeNeonProject {
  id: string;
  name: string;
  region_id: string;
  pg_version: number;
  database: string;
  role: string;
  password: string;
  /** The compute endpoint's host; the pooler's is the same with `-pooler` after the endpoint id. */
  endpointId: string;
  operations: { id: string; action: string }[];
  /** Polls of the operations list so far; they finish once it passes `finishAfterPolls`. */
  polls: number;
  operationsFail: boolean;
}

export interface RecordedNeonRequest {
  method: string;
  /** Below the base URL, without the query string: `/projects/fake-project-1`. */
  path: string;
  query: Record<string, string>;
  authorization: string | undefined;
  contentType: string | undefined;
  accept: string | undefined;
  body: unknown;
}

export interface FailNextOptions {
  /** Sent as `Retry-After` (seconds). */
  retryAfterSeconds?: number;
  message?: string;
}

export interface FakeNeonApi {
  /** The base URL, `http://127.0.0.1:<port>/api/v2`. */
  url: string;
  stop(): Promise<void>;
  projects(): FakeNeonProject[];
  requests(): RecordedNeonRequest[];
  /** The next request (whatever it is) answers `status`; calls queue up, one request each. */
  failNext(status: number, opts?: FailNextOptions): void;
  /** The project's operations answer `failed` from now on. */
  failOperations(projectId: string): void;
}

export interface FakeNeonApiOptions {
  apiKey: string;
  /** The Neon region ids `region_id` may name; any other is a 400. */
  regions: readonly string[];
  /** How many polls of a project's operations answer `running` before they are `finished`; default 1. */
  finishAfterPolls?: number;
  /** Leaves `connection_uris` out of the create answer (the API marks it optional on other routes). */
  omitConnectionUris?: boolean;
}

const BASE_PATH = "/api/v2";
const DEFAULT_DATABASE = "neondb";
const DEFAULT_ROLE = "neondb_owner";
const PG_VERSIONS = new Set([14, 15, 16, 17, 18]);
const PROJECT_FIELDS = new Set(["name", "region_id", "pg_version"]);
const CONNECTION_URI_PARAMS = new Set(["database_name", "role_name", "pooled", "branch_id", "endpoint_id"]);
const LIST_PARAMS = new Set(["search", "limit", "cursor"]);
const ROUTE = /^\/projects(?:\/([^/]+)(?:\/(operations|connection_uri))?)?$/;
const MAX_RECORDS = 1000;

export async function startFakeNeonApi(options: FakeNeonApiOptions): Promise<FakeNeonApi> {
  const finishAfterPolls = options.finishAfterPolls ?? 1;
  const regions = new Set(options.regions);
  const projects = new Map<string, FakeNeonProject>();
  const records: RecordedNeonRequest[] = [];
  const faults: { status: number; opts: FailNextOptions }[] = [];
  let created = 0;

  const project = (id: string): FakeNeonProject => {
    const found = projects.get(id);
    if (!found) throw new NeonError(404, "NOT_FOUND", `project ${id} not found`);
    return found;
  };

  const createProject = (body: unknown): FakeNeonProject => {
    const spec = parseCreateBody(body, regions);
    created += 1;
    const id = `fake-project-${created}`;
    const stored: FakeNeonProject = {
      id,
      name: spec.name ?? id,
      region_id: spec.region_id,
      pg_version: spec.pg_version ?? 17,
      database: DEFAULT_DATABASE,
      role: DEFAULT_ROLE,
      password: randomBytes(12).toString("hex"),
      endpointId: `ep-fake-${created}`,
      operations: [
        { id: randomUUID(), action: "create_timeline" },
        { id: randomUUID(), action: "start_compute" },
      ],
      polls: 0,
      operationsFail: false,
    };
    projects.set(id, stored);
    return stored;
  };

  const handle = async (req: IncomingMessage, res: ServerResponse) => {
    const url = new URL(req.url ?? "/", "http://fake-neon");
    const underBase = url.pathname.startsWith(`${BASE_PATH}/`);
    const path = underBase ? url.pathname.slice(BASE_PATH.length) : url.pathname;
    const hasBody = req.method === "POST" || req.method === "PATCH" || req.method === "PUT";
    const body = hasBody && isJson(req) ? await readJsonBody(req) : undefined;
    records.push({
      method: req.method ?? "",
      path,
      query: Object.fromEntries(url.searchParams),
      authorization: req.headers.authorization,
      contentType: req.headers["content-type"],
      accept: req.headers.accept,
      body,
    });
    if (records.length > MAX_RECORDS) records.shift();

    const fault = faults.shift();
    if (fault) {
      if (fault.opts.retryAfterSeconds !== undefined) {
        res.setHeader("retry-after", String(fault.opts.retryAfterSeconds));
      }
      throw new NeonError(fault.status, "INJECTED", fault.opts.message ?? `injected ${fault.status}`);
    }
    if (req.headers.authorization !== `Bearer ${options.apiKey}`) {
      // The key never appears in an answer, whatever was sent.
      throw new NeonError(401, "UNAUTHORIZED", "authentication failed: a valid API key is required");
    }
    if (!acceptsJson(req.headers.accept)) {
      throw new NeonError(406, "NOT_ACCEPTABLE", "answers are application/json");
    }
    if (hasBody && !isJson(req)) {
      throw new NeonError(415, "UNSUPPORTED_MEDIA_TYPE", "request bodies must be application/json");
    }

    const match = underBase ? ROUTE.exec(path) : null;
    if (!match) throw new NeonError(404, "NOT_FOUND", `no route for ${url.pathname}`);
    const [, id, sub] = match;
    const target = () => project(safeDecode(id ?? ""));
    switch (`${req.method} ${id === undefined ? "projects" : (sub ?? "project")}`) {
      case "POST projects": {
        requireNoQuery(url);
        return sendJson(res, 201, createdAnswer(createProject(body), options.omitConnectionUris ?? false));
      }
      case "GET projects": {
        return sendJson(res, 200, listAnswer([...projects.values()], url.searchParams));
      }
      case "GET project": {
        requireNoQuery(url);
        return sendJson(res, 200, { project: projectAnswer(target()) });
      }
      case "DELETE project": {
        requireNoQuery(url);
        const found = target();
        projects.delete(found.id);
        return sendJson(res, 200, { project: projectAnswer(found) });
      }
      case "GET operations": {
        const found = target();
        found.polls += 1;
        const status = operationStatus(found, finishAfterPolls);
        return sendJson(res, 200, {
          operations: found.operations.map((op) => operationAnswer(found, op, status)),
          pagination: { cursor: "" },
        });
      }
      case "GET connection_uri": {
        const found = target();
        return sendJson(res, 200, { uri: connectionUriAnswer(found, url.searchParams) });
      }
    }
    throw new NeonError(405, "METHOD_NOT_ALLOWED", `${req.method} is not allowed on ${path}`);
  };

  const server = createServer((req, res) => {
    handle(req, res).catch((err: unknown) => {
      const status = err instanceof HttpError ? err.status : 500;
      const code = err instanceof NeonError ? err.code : "";
      sendJson(res, status, { code, message: err instanceof Error ? err.message : String(err) });
    });
  });
  const port = await listen(server);

  return {
    url: `http://127.0.0.1:${port}${BASE_PATH}`,
    stop: () => closeServer(server),
    projects: () => [...projects.values()].map((p) => ({ ...p, operations: [...p.operations] })),
    requests: () => records.map((r) => ({ ...r })),
    failNext(status, opts = {}) {
      if (!Number.isInteger(status) || status < 400 || status > 599) {
        throw new Error("failNext takes an HTTP error status (400–599)");
      }
      faults.push({ status, opts });
    },
    failOperations(projectId) {
      project(projectId).operationsFail = true;
    },
  };
}

/** An error with Neon's `code` as well as the status. */
class NeonError extends HttpError {
  constructor(
    status: number,
    readonly code: string,
    message: string,
  ) {
    super(status, message);
  }
}

function parseCreateBody(
  body: unknown,
  regions: ReadonlySet<string>,
): { name?: string; region_id: string; pg_version?: number } {
  const invalid = (message: string) => new NeonError(400, "INVALID_REQUEST", message);
  if (!isObject(body)) throw invalid("the body must be a JSON object");
  for (const key of Object.keys(body)) if (key !== "project") throw invalid(`unknown field "${key}"`);
  const spec = body.project;
  if (!isObject(spec)) throw invalid('the body needs a "project" object');
  // Stricter than Neon, which accepts many more settings: the client sends only these, so
  // any other field here is a typo or a setting nobody reviewed.
  for (const key of Object.keys(spec))
    if (!PROJECT_FIELDS.has(key)) throw invalid(`unknown field "project.${key}"`);
  const { name, region_id, pg_version } = spec;
  if (name !== undefined && !(typeof name === "string" && name.length >= 1 && name.length <= 256)) {
    throw invalid("project.name must be a string of 1 to 256 characters");
  }
  if (typeof region_id !== "string") throw invalid("project.region_id is required");
  if (!regions.has(region_id)) throw invalid(`project.region_id "${region_id}" is not a supported region`);
  if (pg_version !== undefined && !(typeof pg_version === "number" && PG_VERSIONS.has(pg_version))) {
    throw invalid("project.pg_version must be one of 14, 15, 16, 17, 18");
  }
  return { name, region_id, pg_version };
}

/**
 * One page of projects in creation order: `search` matches part of the name or the id,
 * `limit` is 1–400 (default 10), `cursor` is the last id of the previous page.
 */
function listAnswer(all: FakeNeonProject[], params: URLSearchParams) {
  const invalid = (message: string) => new NeonError(400, "INVALID_REQUEST", message);
  for (const name of params.keys())
    if (!LIST_PARAMS.has(name)) throw invalid(`unknown query parameter "${name}"`);
  const limitText = params.get("limit") ?? "10";
  const limit = Number(limitText);
  if (!/^\d+$/.test(limitText) || limit < 1 || limit > 400)
    throw invalid("limit must be an integer from 1 to 400");
  const search = params.get("search") ?? "";
  const cursor = params.get("cursor");
  const matching = all.filter((p) => p.name.includes(search) || p.id.includes(search));
  const after = cursor ? matching.findIndex((p) => p.id === cursor) + 1 : 0;
  const page = matching.slice(after, after + limit);
  return { projects: page.map(projectAnswer), pagination: { cursor: page.at(-1)?.id ?? cursor ?? "" } };
}

function requireNoQuery(url: URL): void {
  const [name] = url.searchParams.keys();
  if (name !== undefined) throw new NeonError(400, "INVALID_REQUEST", `unknown query parameter "${name}"`);
}

function connectionUriAnswer(project: FakeNeonProject, params: URLSearchParams): string {
  const invalid = (message: string) => new NeonError(400, "INVALID_REQUEST", message);
  for (const name of params.keys())
    if (!CONNECTION_URI_PARAMS.has(name)) throw invalid(`unknown query parameter "${name}"`);
  const database = params.get("database_name");
  const role = params.get("role_name");
  const pooled = params.get("pooled");
  if (!database || !role) throw invalid("database_name and role_name are required");
  if (pooled !== null && pooled !== "true" && pooled !== "false")
    throw invalid("pooled must be true or false");
  // Assumed: Neon answers 404 for a database or role the project does not have.
  if (database !== project.database) throw new NeonError(404, "NOT_FOUND", `database ${database} not found`);
  if (role !== project.role) throw new NeonError(404, "NOT_FOUND", `role ${role} not found`);
  return connectionUri(project, pooled === "true");
}

function connectionUri(project: FakeNeonProject, pooled: boolean): string {
  return `postgresql://${project.role}:${project.password}@${host(project, pooled)}/${project.database}?sslmode=require&channel_binding=require`;
}

/** Neon's hosts look like `ep-…[-pooler].us-east-2.aws.neon.tech` for `aws-us-east-2`. */
function host(project: FakeNeonProject, pooled: boolean): string {
  const [provider, ...place] = project.region_id.split("-");
  return `${project.endpointId}${pooled ? "-pooler" : ""}.${place.join("-")}.${provider}.neon.tech`;
}

function projectAnswer(project: FakeNeonProject) {
  return { id: project.id, name: project.name, region_id: project.region_id, pg_version: project.pg_version };
}

function operationStatus(project: FakeNeonProject, finishAfterPolls: number): string {
  if (project.operationsFail) return "failed";
  return project.polls > finishAfterPolls ? "finished" : "running";
}

function operationAnswer(project: FakeNeonProject, op: { id: string; action: string }, status: string) {
  return { id: op.id, project_id: project.id, action: op.action, status, failures_count: 0 };
}

/** The create answer: the project, its default database and role, a direct URI and its operations. */
function createdAnswer(project: FakeNeonProject, omitConnectionUris: boolean) {
  return {
    project: projectAnswer(project),
    ...(omitConnectionUris
      ? {}
      : {
          connection_uris: [
            {
              connection_uri: connectionUri(project, false),
              connection_parameters: {
                database: project.database,
                role: project.role,
                password: project.password,
                host: host(project, false),
                pooler_host: host(project, true),
              },
            },
          ],
        }),
    roles: [{ name: project.role }],
    databases: [{ name: project.database, owner_name: project.role }],
    operations: project.operations.map((op) => operationAnswer(project, op, "running")),
  };
}

function safeDecode(segment: string): string {
  try {
    return decodeURIComponent(segment);
  } catch {
    throw new NeonError(400, "INVALID_REQUEST", "the project id is not valid percent-encoding");
  }
}

function isJson(req: IncomingMessage): boolean {
  const type = req.headers["content-type"]?.split(";")[0]?.trim().toLowerCase();
  return type === "application/json";
}

function acceptsJson(accept: string | undefined): boolean {
  return accept?.split(",").some((part) => part.split(";")[0]?.trim() === "application/json") ?? false;
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}
