/**
 * argon2id over the reference implementation compiled to WebAssembly (@phi-ag/argon2's
 * `argon2.wasm`, a SIMD build of phc-winner-argon2). We call its exports directly instead of
 * the package's class: that class passes the password's UTF-16 length as its byte length, so
 * a non-ASCII password would be truncated (`"€a"` and `"€b"` hash alike). Here the exact
 * UTF-8 bytes go in, and they are wiped from the wasm heap afterwards.
 *
 * The module is given by the caller: the Worker imports the `.wasm` as a compiled module
 * (workerd compiles no WebAssembly from bytes at run time); Node compiles it from the file.
 */

/** The parts of WebAssembly used here (declared locally: Node's types lack the namespace). */
declare const WebAssembly: {
  Instance: new (module: object, imports: object) => { exports: unknown };
};

/** OWASP's argon2id recommendation: 19 MiB of memory, 2 passes, 1 lane. */
export const ARGON2ID_PARAMS = { memoryKiB: 19_456, passes: 2, lanes: 1, hashBytes: 32, saltBytes: 16 };

const TYPE_ARGON2ID = 2;
const VERSION_13 = 0x13;
const OK = 0;

interface Argon2Exports {
  memory: { buffer: ArrayBuffer };
  _initialize(): void;
  malloc(size: number): number;
  free(ptr: number): void;
  argon2_encodedlen(t: number, m: number, p: number, saltLen: number, hashLen: number, type: number): number;
  argon2_hash(
    t: number,
    m: number,
    p: number,
    pwd: number,
    pwdLen: number,
    salt: number,
    saltLen: number,
    hash: number,
    hashLen: number,
    encoded: number,
    encodedLen: number,
    type: number,
    version: number,
  ): number;
  argon2_verify(encoded: number, pwd: number, pwdLen: number, type: number): number;
}

export interface Argon2id {
  /** A PHC string: `$argon2id$v=19$m=19456,t=2,p=1$<salt>$<hash>`, parameters included. */
  hash(password: string): string;
  verify(encoded: string, password: string): boolean;
}

/** One instance per isolate: hashing is synchronous, so calls never overlap. */
export function createArgon2id(module: object): Argon2id {
  let wasm: Argon2Exports | undefined;
  const exports = (): Argon2Exports => {
    if (!wasm) {
      wasm = new WebAssembly.Instance(module, {}).exports as Argon2Exports;
      wasm._initialize();
    }
    return wasm;
  };
  const encoder = new TextEncoder();

  /** Copies bytes into the wasm heap; `release` wipes and frees them. */
  function place(ex: Argon2Exports, bytes: Uint8Array) {
    const ptr = ex.malloc(Math.max(1, bytes.length));
    new Uint8Array(ex.memory.buffer).set(bytes, ptr);
    return {
      ptr,
      release: () => {
        new Uint8Array(ex.memory.buffer).fill(0, ptr, ptr + bytes.length);
        ex.free(ptr);
      },
    };
  }

  return {
    hash(password) {
      const ex = exports();
      const { memoryKiB, passes, lanes, hashBytes, saltBytes } = ARGON2ID_PARAMS;
      const salt = crypto.getRandomValues(new Uint8Array(saltBytes));
      const encodedLen = ex.argon2_encodedlen(passes, memoryKiB, lanes, saltBytes, hashBytes, TYPE_ARGON2ID);
      const bytes = encoder.encode(password);
      const pwd = place(ex, bytes);
      const saltPtr = place(ex, salt);
      const hashPtr = place(ex, new Uint8Array(hashBytes));
      const encoded = place(ex, new Uint8Array(encodedLen));
      try {
        const result = ex.argon2_hash(
          passes,
          memoryKiB,
          lanes,
          pwd.ptr,
          bytes.length,
          saltPtr.ptr,
          saltBytes,
          hashPtr.ptr,
          hashBytes,
          encoded.ptr,
          encodedLen,
          TYPE_ARGON2ID,
          VERSION_13,
        );
        if (result !== OK) throw new Error(`argon2_hash failed with code ${result}`);
        const heap = new Uint8Array(ex.memory.buffer);
        const end = heap.indexOf(0, encoded.ptr);
        return new TextDecoder().decode(heap.subarray(encoded.ptr, end));
      } finally {
        for (const block of [pwd, saltPtr, hashPtr, encoded]) block.release();
      }
    },

    verify(stored, password) {
      if (!stored.startsWith("$argon2id$")) return false;
      const ex = exports();
      const bytes = encoder.encode(password);
      const encoded = place(ex, encoder.encode(`${stored}\0`));
      const pwd = place(ex, bytes);
      try {
        return ex.argon2_verify(encoded.ptr, pwd.ptr, bytes.length, TYPE_ARGON2ID) === OK;
      } finally {
        pwd.release();
        encoded.release();
      }
    },
  };
}
