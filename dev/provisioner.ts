/**
 * The provisioner for `npm run dev`: in-process, on a free port, applying to the cluster of
 * KUBECONFIG when set and otherwise explicitly in dry-run mode (PROVISIONER_MODE=dry-run: it
 * logs the YAML it would apply, and the Worker records its jobs as `dry_run`).
 */
import { startProvisioner } from "../provisioner/src/server";

export async function startDevProvisioner(opts: {
  secret: string;
  log: (service: string, message: string) => void;
}): Promise<{ url: string; stop(): Promise<void> }> {
  const kubeconfig = process.env.KUBECONFIG;
  const running = await startProvisioner({
    port: 0,
    secret: opts.secret,
    kubeconfig: kubeconfig || undefined,
    dryRun: !kubeconfig,
    log: (line) => opts.log("provisioner", JSON.stringify(line)),
  });
  opts.log("provisioner", `listening on ${running.url} (${running.mode})`);
  return running;
}
