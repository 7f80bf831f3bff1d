import { createApp } from "./app";
import type { Bindings, ProvisionMessage } from "./env";

const app = createApp();

export default {
  fetch: app.fetch,
  async queue(batch: MessageBatch<ProvisionMessage>, _env: Bindings, _ctx: ExecutionContext) {
    // The provisioning consumer arrives with the pipeline; until then nothing is lost:
    // messages are retried and jobs stay `pending` in the outbox for the reconciler.
    batch.retryAll();
  },
  async scheduled(_controller: ScheduledController, _env: Bindings, _ctx: ExecutionContext) {},
} satisfies ExportedHandler<Bindings, ProvisionMessage>;
