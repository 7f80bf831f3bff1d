/** wrangler and Miniflare bind a `.wasm` import as a compiled WebAssembly.Module (CompiledWasm). */
declare module "*.wasm" {
  const module: object;
  export default module;
}
