/**
 * Asks the kernel for an unused loopback port, so every dev service and test can run
 * beside the machine's own Postgres/Redis (and beside each other) without clashes.
 */
import { createServer } from "node:net";

export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.unref();
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const address = server.address();
      server.close(() => {
        if (address && typeof address === "object") resolve(address.port);
        else reject(new Error("could not read the port of a loopback listener"));
      });
    });
  });
}
