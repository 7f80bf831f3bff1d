/**
 * The OpenAPI document as the contract of every response: the helpers that call the Worker
 * (`api()`, `call()`) pass each response through `expectDocumented`, which finds its
 * operation in the document the Worker serves and throws, failing the test that made the
 * request, unless the status is declared for that operation, the content type is one the
 * status declares, and a JSON body validates against the declared schema (with its `$ref`s
 * resolved in the same document). Two checks go beyond JSON Schema, because they are what a
 * client reads: an object whose schema lists its properties may carry no others (a field the
 * document does not name is invisible to clients, or a leak), and a problem+json body must
 * carry one of the codes the response's description names (`Problem \`not_found\``).
 *
 * What the document does not describe, by rule:
 * - the console (`/console…`), the API reference (`/docs…`) and `/openapi.json` itself are not
 *   API operations: skipped, and counted apart;
 * - any other path the document does not have, and a method a documented path does not
 *   declare, is answered by the app as a whole (404 `not_found` from `notFound`, 405
 *   `method_not_allowed` as `info.description` says, or the JSON body guard's 400/413/415
 *   before routing): such a response must be a `Problem`, whatever its status.
 *
 * The schemas are interpreted by @cfworker/json-schema (no code generation: workerd refuses
 * `new Function`). The document is fetched once per test file, through the Worker.
 */
import { exports } from "cloudflare:workers";
import { dereference, type OutputUnit, type Schema, validate } from "@cfworker/json-schema";
import { templateToRegExp } from "../../src/routes/route-table";
import type { ContractCounts } from "./contract-meta";

/** Served by the Worker, not operations of the API. */
const OUTSIDE_THE_API = [/^\/console(\/|$)/, /^\/docs(\/|$)/, /^\/openapi\.json$/];

const HTTP_METHODS = new Set(["get", "put", "post", "delete", "options", "head", "patch", "trace"]);

/** Where `$ref`s resolve: the document is registered under this URI. */
const DOCUMENT_URI = "https://tenantry.test/openapi.json";

const PROBLEM_REF = "#/components/schemas/Problem";

/** How many errors of one body a failure message lists. */
const ERRORS_SHOWN = 8;

interface ResponseObject {
  description: string;
  content?: Record<string, { schema?: Schema }>;
}

interface OperationObject {
  responses: Record<string, ResponseObject>;
  /** An operation that names its own servers is reachable only under those. */
  servers?: Array<{ url: string }>;
}

interface Document {
  paths: Record<string, Record<string, OperationObject>>;
  components: { schemas: Record<string, Schema> };
}

interface PathItem {
  template: string;
  pattern: RegExp;
  operations: Map<string, OperationObject>;
}

interface Contract {
  /** Literal paths first, then by fewer parameters: `/invitations/accept` before `/invitations/{id}`. */
  paths: PathItem[];
  lookup: Record<string, Schema | boolean>;
  problem: Schema;
}

/** What one response is checked against. */
interface Expectation {
  /** `GET /api/v1/tenants/{id}`, or why the response is held to the Problem schema alone. */
  where: string;
  /** The declared response for the status; absent when the status is not declared. */
  response?: ResponseObject;
  /** The statuses the operation declares (for the failure message). */
  statuses: string[];
  /** The codes the description names, when it is a problem response of the operation. */
  codes?: string[];
}

export class ContractError extends Error {
  override name = "ContractError";
}

let contract: Promise<Contract> | undefined;
const counts: ContractCounts = { validated: 0, outside: 0 };

/** The counts since the last call, then reset (each test file reports its own). */
export function takeContractCounts(): ContractCounts {
  const taken = { ...counts };
  counts.validated = 0;
  counts.outside = 0;
  return taken;
}

/** Throws a `ContractError` unless `res` is what the document says `method url` may answer. */
export async function expectDocumented(method: string, url: string | URL, res: Response): Promise<void> {
  const { pathname } = new URL(url);
  if (OUTSIDE_THE_API.some((p) => p.test(pathname))) {
    counts.outside++;
    return;
  }
  const verb = method.toUpperCase();
  const contract = await loadContract();
  const expectation = expectationFor(contract, verb, serverRelative(pathname), res.status);
  const fail = (what: string): never => {
    throw new ContractError(
      `${verb} ${pathname} answered ${res.status}, which the OpenAPI document does not allow ` +
        `(${expectation.where}): ${what}`,
    );
  };
  const { response, codes } = expectation;
  if (!response) return fail(`the status is not declared (${expectation.statuses.join(", ")})`);

  const body = verb === "HEAD" ? "" : await res.clone().text();
  const mediaType = res.headers.get("content-type")?.split(";")[0]?.trim().toLowerCase() ?? "";
  const content = response.content ?? {};
  const declared = Object.keys(content);
  if (declared.length === 0) {
    if (body !== "") fail(`it declares no body, got ${mediaType || "no content type"}: ${excerpt(body)}`);
  } else if (!declared.includes(mediaType)) {
    fail(`content type ${mediaType || "(none)"} is not one of ${declared.join(", ")}`);
  } else if (isJson(mediaType) && verb !== "HEAD") {
    const schema = content[mediaType]?.schema;
    let value: unknown;
    try {
      value = JSON.parse(body);
    } catch {
      fail(`the ${mediaType} body is not JSON: ${excerpt(body)}`);
    }
    if (schema) {
      const result = validate(value, schema, "2020-12", contract.lookup, false);
      if (!result.valid)
        fail(`the body does not match its schema:\n${describe(result.errors)}\n${excerpt(body)}`);
      const extra = undocumented(value, schema, contract.lookup);
      if (extra.length > 0) fail(`the body has properties its schema does not name: ${extra.join(", ")}`);
    }
    const code = (value as { code?: unknown } | null)?.code;
    if (codes && !codes.includes(String(code)))
      fail(`problem code ${String(code)} is not one it names for ${res.status}: ${codes.join(", ")}`);
  }
  counts.validated++;
}

/** The document's servers: `/`, and `/t/{tenant}` (path selection). */
const TENANT_SERVER = /^\/t\/[^/]+(\/api\/.*)$/;

function serverRelative(pathname: string): { path: string; server: string } {
  const prefixed = TENANT_SERVER.exec(pathname);
  return prefixed ? { path: prefixed[1] as string, server: "/t/{tenant}" } : { path: pathname, server: "/" };
}

function expectationFor(
  contract: Contract,
  verb: string,
  { path: pathname, server }: { path: string; server: string },
  status: number,
): Expectation {
  const matching = contract.paths.filter((p) => p.pattern.test(pathname));
  const problemOnly = (why: string): Expectation => ({
    where: `${why}: held to the Problem schema`,
    response: { description: "", content: { "application/problem+json": { schema: contract.problem } } },
    statuses: [],
  });
  if (matching.length === 0) return problemOnly("a path the document does not have");
  // HEAD is answered by the GET route, without a body.
  const key = verb === "HEAD" ? "get" : verb.toLowerCase();
  const item = matching.find((p) => p.operations.has(key));
  const operation = item?.operations.get(key);
  if (!item || !operation) return problemOnly(`no ${verb} in ${matching.map((p) => p.template).join(", ")}`);
  if (operation.servers && !operation.servers.some((s) => s.url === server))
    return problemOnly(`${verb} ${item.template} is not served under ${server}`);
  const where = `${verb} ${item.template}`;
  const statuses = Object.keys(operation.responses);
  const statusKey = [String(status), `${String(status)[0]}XX`, "default"].find((k) => statuses.includes(k));
  const response = statusKey === undefined ? undefined : operation.responses[statusKey];
  const codes =
    response && /^Problem `/.test(response.description)
      ? [...response.description.matchAll(/`([a-z_]+)`/g)].map((m) => m[1] as string)
      : undefined;
  return { where, response, statuses, codes };
}

function loadContract(): Promise<Contract> {
  contract ??= (async () => {
    const res = await exports.default.fetch("http://localhost/openapi.json");
    if (res.status !== 200) throw new Error(`GET /openapi.json answered ${res.status}`);
    const document = (await res.json()) as Document;
    // Every schema in the document, by its absolute URI, so `#/components/…` refs resolve.
    const lookup = dereference(document as Schema, Object.create(null), new URL(DOCUMENT_URI));
    const paths = Object.entries(document.paths)
      .map(([template, item]) => ({
        template,
        pattern: templateToRegExp(template),
        operations: new Map(Object.entries(item).filter(([method]) => HTTP_METHODS.has(method))),
      }))
      .sort((a, b) => parameters(a.template) - parameters(b.template));
    const problem = { $ref: `${DOCUMENT_URI}${PROBLEM_REF}` };
    return { paths, lookup, problem };
  })();
  return contract;
}

function parameters(template: string): number {
  return template.split("{").length - 1;
}

function isJson(mediaType: string): boolean {
  return mediaType === "application/json" || mediaType.endsWith("+json");
}

/**
 * The properties of `value` that its schema does not name, where the schema lists its
 * properties and says nothing of others. JSON Schema lets such an object carry anything, but
 * a field the document does not name is one no client (nor the typed one) knows of, and may
 * be a leak: the document must name every field the API sends.
 */
function undocumented(value: unknown, schema: Schema, lookup: Contract["lookup"], at = "#"): string[] {
  if (value === null || typeof value !== "object") return [];
  const branches = flatten(schema, lookup);
  if (Array.isArray(value)) {
    const items = branches.flatMap((b) => (isSchema(b.items) ? [b.items] : []));
    return items.length === 0
      ? []
      : value.flatMap((v, i) => undocumented(v, items[0] as Schema, lookup, `${at}/${i}`));
  }
  const named = branches.filter((b) => b.properties);
  const open =
    named.length === 0 || branches.some((b) => b.additionalProperties !== undefined || b.patternProperties);
  const out: string[] = [];
  for (const [key, v] of Object.entries(value)) {
    const property = named.map((b) => b.properties?.[key]).find(isSchema);
    if (property) out.push(...undocumented(v, property, lookup, `${at}/${key}`));
    else if (!open) out.push(`${at}/${key}`);
  }
  return out;
}

/** A schema and everything it is made of: its `$ref` target and its `allOf`/`anyOf`/`oneOf` branches. */
function flatten(schema: Schema, lookup: Contract["lookup"]): Schema[] {
  if (schema.$ref) {
    const target = lookup[schema.__absolute_ref__ ?? schema.$ref];
    return isSchema(target) ? flatten(target, lookup) : [];
  }
  const parts = [...(schema.allOf ?? []), ...(schema.anyOf ?? []), ...(schema.oneOf ?? [])];
  return [schema, ...parts.flatMap((p) => flatten(p, lookup))];
}

function isSchema(s: unknown): s is Schema {
  return typeof s === "object" && s !== null && !Array.isArray(s);
}

/** The innermost errors (those no other error lies under), which say what actually differs. */
function describe(errors: OutputUnit[]): string {
  const leaves = errors.filter(
    (e) => !errors.some((o) => o !== e && o.keywordLocation.startsWith(`${e.keywordLocation}/`)),
  );
  return leaves
    .slice(0, ERRORS_SHOWN)
    .map((e) => `  ${e.instanceLocation}: ${e.error} (${e.keywordLocation})`)
    .join("\n");
}

function excerpt(body: string): string {
  return body.length > 400 ? `${body.slice(0, 400)}…` : body;
}
