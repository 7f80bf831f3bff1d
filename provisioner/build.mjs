// Bundles the provisioner into one ESM file (dist/cli.js) so the container image needs
// neither node_modules nor tsx: bin/tenantry-provisioner.js loads it when src/ is absent.
import { build } from "esbuild";

await build({
  entryPoints: [new URL("./src/cli.ts", import.meta.url).pathname],
  outfile: new URL("./dist/cli.js", import.meta.url).pathname,
  bundle: true,
  platform: "node",
  format: "esm",
  target: "node22",
  sourcemap: true,
  logLevel: "warning",
  // Bundled CommonJS dependencies (client-node, prom-client) call require(); ESM has none.
  banner: {
    js: "import { createRequire } from 'node:module'; const require = createRequire(import.meta.url);",
  },
});
