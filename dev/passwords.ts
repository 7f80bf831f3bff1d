/**
 * Password hashing for Node-side tools (the seed, admin scripts): the Worker's argon2id over the
 * same `.wasm`, compiled here from the file (the Worker imports it as a compiled module).
 */
import { readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { createArgon2id } from "../src/lib/argon2id";

/** Node has WebAssembly at run time; its type declarations only name the namespace. */
const { WebAssembly: wasmRuntime } = globalThis as unknown as {
  WebAssembly: { Module: new (bytes: Uint8Array) => object };
};
const wasmPath = createRequire(import.meta.url).resolve("@phi-ag/argon2/argon2.wasm");
const argon2id = createArgon2id(new wasmRuntime.Module(readFileSync(wasmPath)));

export async function hashPassword(password: string): Promise<string> {
  return argon2id.hash(password);
}
