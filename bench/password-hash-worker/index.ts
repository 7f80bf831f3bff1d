/**
 * The Worker that bench/password-hash.ts runs in workerd, hashing as the product does: argon2id
 * through `createArgon2id` (src/lib/argon2id.ts) over @phi-ag/argon2's `argon2.wasm`, imported as
 * a compiled module like src/lib/passwords.ts does, and PBKDF2 through `hashPbkdf2`
 * (src/lib/pbkdf2.ts) at its default 100,000 iterations.
 *
 * GET /check                              correctness: reference vectors, UTF-8, PBKDF2 for Node to recompute
 * GET /hash?scheme=none|pbkdf2|argon2id   one hash, timed here with performance.now()
 */
import Argon2, { Argon2Type, Argon2Version } from "@phi-ag/argon2";
import wasm from "@phi-ag/argon2/argon2.wasm";
import { type Argon2id, createArgon2id } from "../../src/lib/argon2id";
import { needsRehash } from "../../src/lib/passwords";
import { hashPbkdf2, verifyPbkdf2 } from "../../src/lib/pbkdf2";
import { type CheckResult, type HashResult, PBKDF2_CHECK_PASSWORD, PBKDF2_ITERATIONS } from "./params";

interface WasmInstance {
  exports: { memory: { buffer: ArrayBuffer } };
}

/** The part of workerd's WebAssembly used here (tsconfig.node.json also checks this file, without it). */
declare const WebAssembly: { Instance: new (module: object, imports: object) => WasmInstance };

/**
 * createArgon2id keeps its instance private. To report the measured instance's memory, every
 * instance made in this isolate is noted as it is constructed (once per instance, never per hash).
 */
const instances: WasmInstance[] = [];
WebAssembly.Instance = new Proxy(WebAssembly.Instance, {
  construct(target, args, newTarget) {
    const instance = Reflect.construct(target, args, newTarget) as WasmInstance;
    instances.push(instance);
    return instance;
  },
});

/** The reference implementation's argon2id vectors (phc-winner-argon2 src/test.c), "password"/"somesalt". */
const VECTORS = [
  "$argon2id$v=19$m=256,t=2,p=1$c29tZXNhbHQ$nf65EOgLrQMR/uIPnA4rEsF5h7TKyQwu9U1bMCHGi/4",
  "$argon2id$v=19$m=256,t=2,p=2$c29tZXNhbHQ$bQk8UB/VmZZF4Oo79iDXuL5/0ttZwg2f/5U52iv1cDc",
  "$argon2id$v=19$m=65536,t=2,p=1$c29tZXNhbHQ$CTFhFdXPJO1aFaMaO6Mm5c8y7cJHAph8ArZWb2GRPPc",
];

/** The measured instance: made at the first argon2id hash (a warm-up), apart from the checks' one. */
let measured: { argon2id: Argon2id; instance?: WasmInstance } | undefined;

async function check(): Promise<CheckResult> {
  // Its own instance, so the 64 MiB vector does not grow the measured instance's memory.
  const argon2id = createArgon2id(wasm);
  const vectors = VECTORS.map((encoded) => ({
    encoded,
    verified: argon2id.verify(encoded, "password"),
    wrongRefused: !argon2id.verify(encoded, "passwore"),
  }));
  const fresh = argon2id.hash("bench check");
  const euro = argon2id.hash("€a");

  // The bug src/lib/argon2id.ts works around, shown with the package's class (fixed salt, small m).
  const packageClass = new Argon2(new WebAssembly.Instance(wasm, {}));
  const small = {
    salt: new TextEncoder().encode("somesalt"),
    memoryCost: 256,
    timeCost: 2,
    parallelism: 1,
    hashLength: 32,
    type: Argon2Type.Argon2id,
    version: Argon2Version.Version13,
  };
  const packageClassTruncates =
    packageClass.hash("€a", small).encoded === packageClass.hash("€b", small).encoded;

  const pbkdf2 = await hashPbkdf2(PBKDF2_CHECK_PASSWORD);
  const pbkdf2RoundTrip =
    (await verifyPbkdf2(PBKDF2_CHECK_PASSWORD, pbkdf2)) && !(await verifyPbkdf2("wrong", pbkdf2));
  return {
    pbkdf2,
    pbkdf2RoundTrip,
    vectors,
    current: {
      encoded: fresh,
      verified: argon2id.verify(fresh, "bench check"),
      needsRehash: needsRehash(fresh),
    },
    utf8: { verifiesSame: argon2id.verify(euro, "€a"), refusesOther: !argon2id.verify(euro, "€b") },
    packageClassTruncates,
  };
}

async function hash(scheme: string | null): Promise<HashResult> {
  const password = `bench-${crypto.randomUUID()}`;
  if (scheme === "argon2id") {
    measured ??= { argon2id: createArgon2id(wasm) };
    const before = instances.length;
    const start = performance.now();
    measured.argon2id.hash(password);
    const ms = performance.now() - start;
    measured.instance ??= instances[before];
    return { ms, wasmMemoryBytes: measured.instance?.exports.memory.buffer.byteLength ?? null };
  }
  const start = performance.now();
  if (scheme === "pbkdf2") {
    const stored = await hashPbkdf2(password);
    const ms = performance.now() - start;
    if (!stored.startsWith(`pbkdf2-sha256$${PBKDF2_ITERATIONS}$`)) throw new Error(`unexpected ${stored}`);
    return { ms, wasmMemoryBytes: null };
  }
  return { ms: performance.now() - start, wasmMemoryBytes: null };
}

export default {
  async fetch(request: Request): Promise<Response> {
    const url = new URL(request.url);
    try {
      if (url.pathname === "/check") return Response.json(await check());
      if (url.pathname === "/hash") return Response.json(await hash(url.searchParams.get("scheme")));
      return new Response("not found", { status: 404 });
    } catch (error) {
      return new Response(String(error), { status: 500 });
    }
  },
};
