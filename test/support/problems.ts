import { expect } from "vitest";
import type { ProblemBody, ProblemCode } from "../../src/lib/problem";

/** Asserts an RFC 9457 response with the given status and stable code, and returns its body. */
export async function expectProblem(res: Response, status: number, code: ProblemCode): Promise<ProblemBody> {
  expect(res.status).toBe(status);
  expect(res.headers.get("content-type")).toBe("application/problem+json");
  const body = (await res.json()) as ProblemBody;
  expect(body).toMatchObject({
    status,
    code,
    type: expect.stringContaining(code),
    title: expect.any(String),
  });
  expect(typeof body.detail).toBe("string");
  expect(body.request_id).toBe(res.headers.get("X-Request-ID"));
  return body;
}
