import { createApp } from "./app";
import type { Bindings, ProvisionMessage } from "./env";
import { handleQueue } from "./jobs/consumer";
import { handleScheduled } from "./jobs/cron";

const app = createApp();

export default {
  fetch: app.fetch,
  queue: handleQueue,
  scheduled: handleScheduled,
} satisfies ExportedHandler<Bindings, ProvisionMessage>;
