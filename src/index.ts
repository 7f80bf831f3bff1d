import { createApp } from "./app";
import type { Bindings, ProvisionMessage } from "./env";
import { handleQueue } from "./jobs/consumer";

const app = createApp();

export default {
  fetch: app.fetch,
  queue: handleQueue,
  async scheduled(_controller: ScheduledController, _env: Bindings, _ctx: ExecutionContext) {},
} satisfies ExportedHandler<Bindings, ProvisionMessage>;
