import { cloudflareTest } from "@cloudflare/vitest-plugin";
import { defineConfig } from "vitest/config";

/**
 * Two projects: `workers` runs inside workerd (the real runtime) against the real Postgres
 * and Redis that `test/global-setup.ts` starts; `node` runs the local adapters and the
 * provisioner on Node.
 */
export default defineConfig({
  test: {
    // At the root, so the backends start once under Node's module conditions (inside the
    // workers project, `ws` and `ioredis` would resolve to their browser builds).
    globalSetup: ["./test/global-setup.ts"],
    // Request logs of passing tests are noise; a failing test still shows its own.
    silent: "passed-only",
    // After the default summary: how many responses were checked against the OpenAPI document.
    reporters: ["default", "./test/support/contract-summary.ts"],
    projects: [
      {
        plugins: [
          cloudflareTest(({ inject }) => ({
            wrangler: { configPath: "./wrangler.toml" },
            miniflare: {
              bindings: {
                DATABASE_URL: inject("databaseUrl"),
                NEON_LOCAL_PROXY: inject("neonProxy"),
                NEON_LOCAL_HTTP: inject("neonHttp"),
                UPSTASH_REDIS_REST_URL: inject("upstashUrl"),
                UPSTASH_REDIS_REST_TOKEN: inject("upstashToken"),
                JWT_SECRET: "test-jwt-secret-0123456789abcdefghijklmnop",
                MASTER_KEY: "MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY=",
                PROVISIONER_SECRET: inject("provisionerSecret"),
                PROVISIONER_URL: inject("provisionerUrl"),
                TEST_PROVISIONER_CONTROL_URL: inject("provisionerControlUrl"),
                METRICS_TOKEN: "test-metrics-token-0123456789",
                TEST_ADMIN_DATABASE_URL: inject("adminDatabaseUrl"),
                TEST_ADMIN_EMAIL: inject("adminEmail"),
                TEST_ADMIN_PASSWORD: inject("adminPassword"),
                JWKS_URL: inject("jwksUrl"),
                TEST_JWKS_PRIVATE_KEYS: inject("jwksPrivateKeys"),
                // Scripted tests read the token from the API's answer; the tests of the email
                // path use a Worker without it (test/invitation-email.test.ts).
                INVITATION_DELIVERY: "response",
                // The run's own mail catcher (wrangler.toml points at the dev stack's).
                SMTP_HOST: "127.0.0.1",
                SMTP_PORT: inject("mailSmtpPort"),
                TEST_MAIL_API_URL: inject("mailApiUrl"),
                TEST_WEBHOOK_RECEIVER_URL: inject("webhookReceiverUrl"),
                // Tests point webhooks at the run's receiver on 127.0.0.1, a private address.
                WEBHOOK_ALLOW_PRIVATE: "true",
              },
            },
          })),
        ],
        test: {
          name: "workers",
          include: ["test/**/*.test.ts"],
          exclude: ["test/stack/**"],
          // Every response through the test helpers is checked against the OpenAPI document;
          // this records each file's count for the summary.
          setupFiles: ["./test/support/contract-setup.ts"],
          testTimeout: 30_000,
          hookTimeout: 60_000,
        },
      },
      {
        test: {
          name: "node",
          include: ["test/stack/**/*.test.ts", "dev/test/**/*.test.ts", "provisioner/test/**/*.test.ts"],
          environment: "node",
          testTimeout: 30_000,
          hookTimeout: 60_000,
        },
      },
    ],
  },
});
