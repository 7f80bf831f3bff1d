/**
 * A local JWKS endpoint standing in for an external identity provider: an RS256 and an
 * ES256 key pair, the public halves served as a JWK Set, the private halves handed to tests.
 */
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { exportJWK, generateKeyPair } from "jose";

export async function startJwksServer() {
  const rsa = await generateKeyPair("RS256", { extractable: true });
  const ec = await generateKeyPair("ES256", { extractable: true });
  const keys = [
    { ...(await exportJWK(rsa.publicKey)), kid: "rsa-1", alg: "RS256", use: "sig" },
    { ...(await exportJWK(ec.publicKey)), kid: "ec-1", alg: "ES256", use: "sig" },
  ];
  const privateKeys = {
    rsa: { ...(await exportJWK(rsa.privateKey)), kid: "rsa-1", alg: "RS256" },
    ec: { ...(await exportJWK(ec.privateKey)), kid: "ec-1", alg: "ES256" },
  };
  const server = createServer((req, res) => {
    if (req.url !== "/.well-known/jwks.json") {
      res.writeHead(404).end();
      return;
    }
    res.writeHead(200, { "content-type": "application/json" }).end(JSON.stringify({ keys }));
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/.well-known/jwks.json`,
    privateKeys: JSON.stringify(privateKeys),
    stop: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}
