// Copies the API reference's browser bundle from the installed @scalar/api-reference into the
// Worker's static assets (public/docs/assets/, git-ignored), so /docs loads no third-party
// script. Runs after every `npm install` / `npm ci` (postinstall); plain Node, no dependencies.
// The package exports no subpath for the bundle, so it is found in the root node_modules.
import { copyFileSync, existsSync, mkdirSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const source = join(root, "node_modules/@scalar/api-reference/dist/browser/standalone.js");
const target = join(root, "public/docs/assets/scalar.js");
if (!existsSync(source)) {
  console.error(`copy-docs-assets: ${source} is missing; run npm install first`);
  process.exit(1);
}
mkdirSync(dirname(target), { recursive: true });
copyFileSync(source, target);
console.log(`copy-docs-assets: the API reference bundle is in ${target}`);
