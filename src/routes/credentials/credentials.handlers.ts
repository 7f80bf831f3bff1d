import type { Handler } from "../../lib/router";
import { credentialService, revealCredential } from "../../services/resources/credentials";
import { crudHandlers } from "../crud-handlers";
import { writeContextOf } from "../request-context";
import type * as routes from "./credentials.routes";
import { schemas } from "./credentials.routes";

const reveal: Handler<typeof routes.reveal> = async (c) => {
  const revealed = await revealCredential(writeContextOf(c), c.req.valid("param").id);
  // A plaintext secret must not linger in a shared or browser cache.
  c.header("Cache-Control", "no-store");
  return c.json(revealed, 200);
};

/** List, create, get and delete are the generic ones (the service never loads values); reveal is its own. */
export const handlers = { ...crudHandlers(schemas, credentialService), reveal };
