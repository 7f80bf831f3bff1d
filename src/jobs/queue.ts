/** The provisioning queue's message, and the producer side of its binding. */

export interface ProvisionMessage {
  jobId: string;
}

/**
 * The producer side of the Cloudflare Queue binding, structurally: what the Worker uses of
 * `Queue<ProvisionMessage>`, so Node-side code (benchmarks, scripts) can type-check too.
 */
export interface ProvisionQueue {
  send(body: ProvisionMessage, options?: { contentType?: "json"; delaySeconds?: number }): Promise<unknown>;
  sendBatch(
    messages: Iterable<{ body: ProvisionMessage; contentType?: "json"; delaySeconds?: number }>,
  ): Promise<unknown>;
}
