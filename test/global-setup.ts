/**
 * Starts the real backends for the Worker tests on free ports, and stops them afterwards.
 * Each run gets its own Postgres cluster (or its own database on DATABASE_URL's server),
 * its own redis-server (or REDIS_URL), its own mail catcher and its own webhook receiver.
 */
import { randomBytes } from "node:crypto";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { TestProject } from "vitest/node";
import { startBackends } from "../dev/backends";
import { startMailCatcher } from "../dev/servers/mail-catcher";
import { startWebhookReceiver } from "../dev/servers/webhook-receiver";
import { startJwksServer } from "./jwks-server";
import { startProvisionerStack } from "./provisioner-stack";

export const TEST_ADMIN = { email: "admin@tenantry.test", password: "test-admin-password-1" };

export default async function setup(project: TestProject) {
  const runId = randomBytes(4).toString("hex");
  const backends = await startBackends({
    dataDir: join(tmpdir(), `tenantry-test-${process.pid}-${runId}`),
    persistent: false,
    database: `tenantry_test_${runId}`,
    dropOnStop: Boolean(process.env.DATABASE_URL),
    adminEmail: TEST_ADMIN.email,
    adminPassword: TEST_ADMIN.password,
  });
  const mail = await startMailCatcher({ dir: join(tmpdir(), `tenantry-test-mail-${process.pid}-${runId}`) });
  const webhooks = await startWebhookReceiver();
  const jwks = await startJwksServer();
  const provisionerSecret = randomBytes(32).toString("base64url");
  // Dedicated tenant databases are made in the run's own Postgres, as in the dev stack.
  const provisioning = await startProvisionerStack(provisionerSecret, {
    provider: "local",
    adminUrl: backends.serverUrl,
    runtimeUrl: backends.databaseUrl,
  });
  project.provide("provisionerSecret", provisionerSecret);
  project.provide("provisionerUrl", provisioning.provisionerUrl);
  project.provide("provisionerControlUrl", provisioning.controlUrl);
  project.provide("jwksUrl", jwks.url);
  project.provide("jwksPrivateKeys", jwks.privateKeys);
  project.provide("databaseUrl", backends.databaseUrl);
  project.provide("adminDatabaseUrl", backends.adminDatabaseUrl);
  project.provide("upstashUrl", backends.upstashUrl);
  project.provide("upstashToken", backends.upstashToken);
  project.provide("neonProxy", backends.neonProxy);
  project.provide("neonHttp", backends.neonHttp);
  project.provide("adminEmail", TEST_ADMIN.email);
  project.provide("adminPassword", TEST_ADMIN.password);
  project.provide("mailSmtpPort", String(mail.smtpPort));
  project.provide("mailApiUrl", mail.webUrl);
  project.provide("webhookReceiverUrl", webhooks.url);
  return async () => {
    await mail.stop();
    await webhooks.stop();
    await jwks.stop();
    await provisioning.stop();
    await backends.stop();
  };
}

declare module "vitest" {
  export interface ProvidedContext {
    databaseUrl: string;
    adminDatabaseUrl: string;
    upstashUrl: string;
    upstashToken: string;
    neonProxy: string;
    neonHttp: string;
    adminEmail: string;
    adminPassword: string;
    jwksUrl: string;
    jwksPrivateKeys: string;
    provisionerSecret: string;
    provisionerUrl: string;
    provisionerControlUrl: string;
    mailSmtpPort: string;
    mailApiUrl: string;
    webhookReceiverUrl: string;
  }
}
