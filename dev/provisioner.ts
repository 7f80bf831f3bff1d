/**
 * The provisioner for `npm run dev`: in-process, on a free port, applying to the cluster of
 * KUBECONFIG when set and otherwise explicitly in dry-run mode (PROVISIONER_MODE=dry-run: it
 * logs the YAML it would apply, and the Worker records its jobs as `dry_run`). Dedicated
 * tenant databases are made in the stack's own Postgres (DATABASE_PROVIDER=local): created and
 * migrated by the server's owner, answered with the Worker's runtime URL on that database.
 */
import { startProvisioner } from "../provisioner/src/server";

export async function startDevProvisioner(opts: {
  secret: string;
  /** The owner URL of the stack's Postgres server (DATABASE_ADMIN_URL). */
  databaseAdminUrl: string;
  /** The Worker's DATABASE_URL (DATABASE_RUNTIME_URL). */
  databaseRuntimeUrl: string;
  log: (service: string, message: string) => void;
}): Promise<{ url: string; stop(): Promise<void> }> {
  const kubeconfig = process.env.KUBECONFIG;
  const running = await startProvisioner({
    port: 0,
    secret: opts.secret,
    kubeconfig: kubeconfig || undefined,
    dryRun: !kubeconfig,
    databases: { provider: "local", adminUrl: opts.databaseAdminUrl, runtimeUrl: opts.databaseRuntimeUrl },
    log: (line) => opts.log("provisioner", JSON.stringify(line)),
  });
  opts.log("provisioner", `listening on ${running.url} (${running.mode}, databases: local)`);
  return running;
}
