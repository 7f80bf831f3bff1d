/**
 * `tenantry-provisioner serve`: configuration from the environment, JSON logs on stdout,
 * and a graceful stop on SIGTERM so a rolling update never cuts a job in half.
 */
import { KubeConfig } from "@kubernetes/client-node";
import { databasesOptions, parseEnv } from "./config";
import { jsonLogger } from "./log";
import { startProvisioner } from "./server";

export async function main(env: Record<string, string | undefined> = process.env): Promise<void> {
  const config = parseEnv(env);
  const dryRun = config.PROVISIONER_MODE === "dry-run";
  const running = await startProvisioner({
    port: config.PORT,
    hostname: config.HOST,
    secret: config.PROVISIONER_SECRET,
    dryRun,
    // parseEnv has made sure that a live provisioner has one or the other.
    kubeconfig: dryRun ? undefined : (config.KUBECONFIG ?? inClusterConfig()),
    timeoutMs: config.PROVISIONER_TIMEOUT_MS,
    metricsToken: config.METRICS_TOKEN,
    databases: databasesOptions(config),
    log: jsonLogger,
  });

  const shutdown = async (signal: string) => {
    jsonLogger({ level: "info", msg: "stopping", signal });
    await running.stop();
    process.exit(0);
  };
  process.once("SIGTERM", () => void shutdown("SIGTERM"));
  process.once("SIGINT", () => void shutdown("SIGINT"));
}

function inClusterConfig(): KubeConfig {
  const kc = new KubeConfig();
  kc.loadFromCluster();
  return kc;
}
