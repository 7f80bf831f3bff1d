import type { Bindings } from "../src/env";

/** The bindings the tests receive: the Worker's own plus fixtures-only connection details. */
declare global {
  namespace Cloudflare {
    interface Env extends Bindings {
      TEST_ADMIN_DATABASE_URL: string;
      TEST_ADMIN_EMAIL: string;
      TEST_ADMIN_PASSWORD: string;
      TEST_JWKS_PRIVATE_KEYS: string;
      TEST_PROVISIONER_CONTROL_URL: string;
      /** The run's mail catcher (maildev): its HTTP API lists what the Worker sent. */
      TEST_MAIL_API_URL: string;
      /** The run's webhook receiver (dev/servers/webhook-receiver.ts): where tests point webhooks. */
      TEST_WEBHOOK_RECEIVER_URL: string;
    }
  }
}
