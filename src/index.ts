import { createApp } from "./app";
import type { Bindings } from "./env";
import { handleQueue } from "./jobs/consumer";
import { handleScheduled } from "./jobs/cron";
import type { ProvisionMessage } from "./jobs/queue";

const app = createApp();

export default {
  fetch: app.fetch,
  queue: handleQueue,
  scheduled: handleScheduled,
} satisfies ExportedHandler<Bindings, ProvisionMessage>;
