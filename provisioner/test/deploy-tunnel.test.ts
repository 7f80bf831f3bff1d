import { readFileSync } from "node:fs";
import { ConfigMap } from "kubernetes-models/v1";
import { describe, expect, it } from "vitest";
import { unstable_readConfig } from "wrangler";
import { parse, parseAllDocuments } from "yaml";
import { validateAgainstSchema } from "./support/kube-schemas";

/** The parts of the manifests these tests read. */
interface Manifest {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace?: string; labels?: Record<string, string> };
  automountServiceAccountToken?: boolean;
  data?: Record<string, string>;
  spec?: Record<string, unknown>;
}

interface PodSpec {
  serviceAccountName: string;
  automountServiceAccountToken?: boolean;
  securityContext: Record<string, unknown>;
  containers: {
    image: string;
    args: string[];
    ports: { name: string; containerPort: number }[];
    livenessProbe: { httpGet: { path: string; port: string } };
    securityContext: Record<string, unknown>;
    volumeMounts: { name: string; mountPath: string; readOnly?: boolean }[];
  }[];
  volumes: { name: string; configMap?: { name: string }; secret?: { secretName: string } }[];
}

interface Peer {
  podSelector?: { matchLabels: Record<string, string> };
  namespaceSelector?: { matchLabels: Record<string, string> };
  ipBlock?: { cidr: string };
}

interface Rule {
  from?: Peer[];
  to?: Peer[];
  ports?: { protocol: string; port: number }[];
}

interface NetworkPolicySpec {
  podSelector: { matchLabels: Record<string, string> };
  policyTypes: string[];
  ingress?: Rule[];
  egress?: Rule[];
}

interface TunnelConfig {
  "credentials-file": string;
  metrics: string;
  ingress: { hostname?: string; service: string }[];
}

const load = (file: string) =>
  parseAllDocuments(readFileSync(new URL(`../deploy/${file}`, import.meta.url), "utf8")).map(
    (doc) => doc.toJS() as Manifest,
  );
const tunnel = load("tunnel.yaml");
const provisioner = load("provisioner.yaml");
const find = (docs: Manifest[], kind: string, name: string) => {
  const doc = docs.find((d) => d.kind === kind && d.metadata.name === name);
  if (!doc) throw new Error(`no ${kind} ${name}`);
  return doc;
};
const podOf = (deployment: Manifest) =>
  (deployment.spec as { template: { metadata: { labels: Record<string, string> }; spec: PodSpec } }).template;

const cloudflared = podOf(find(tunnel, "Deployment", "cloudflared"));
const container = cloudflared.spec.containers[0];
const provisionerPod = podOf(find(provisioner, "Deployment", "tenantry-provisioner"));
const provisionerPort = provisionerPod.spec.containers[0]?.ports[0]?.containerPort;
const service = find(provisioner, "Service", "tenantry-provisioner") as Manifest & {
  spec: { ports: { port: number }[] };
};
const config = parse(find(tunnel, "ConfigMap", "cloudflared").data?.["config.yaml"] ?? "") as TunnelConfig;
const policy = (name: string) => find(tunnel, "NetworkPolicy", name).spec as unknown as NetworkPolicySpec;

/** Where a volume is mounted in the cloudflared container. */
function mountOf(volume: (v: PodSpec["volumes"][number]) => boolean): string {
  const name = cloudflared.spec.volumes.find(volume)?.name;
  const mount = container?.volumeMounts.find((m) => m.name === name);
  expect(mount?.readOnly).toBe(true);
  return mount?.mountPath ?? "(not mounted)";
}

describe("deploy/tunnel.yaml (Cloudflare Tunnel to the provisioner)", () => {
  it("is valid Kubernetes objects in the provisioner's namespace", () => {
    expect(tunnel.map((doc) => doc.kind)).toEqual([
      "ServiceAccount",
      "ConfigMap",
      "Deployment",
      "NetworkPolicy",
      "NetworkPolicy",
    ]);
    for (const doc of tunnel) {
      expect(doc.metadata.namespace).toBe("tenantry-system");
      if (doc.kind === "ConfigMap") expect(() => new ConfigMap(doc as never).validate()).not.toThrow();
      else expect(() => validateAgainstSchema(doc)).not.toThrow();
    }
  });

  it("runs cloudflared as a non-root user under the restricted pod security standard, without an API token", () => {
    expect(cloudflared.spec.securityContext).toMatchObject({
      runAsNonRoot: true,
      seccompProfile: { type: "RuntimeDefault" },
    });
    expect(cloudflared.spec.securityContext.runAsUser).toBeGreaterThan(0);
    expect(container?.securityContext).toEqual({
      allowPrivilegeEscalation: false,
      readOnlyRootFilesystem: true,
      capabilities: { drop: ["ALL"] },
    });
    expect(cloudflared.spec.automountServiceAccountToken).toBe(false);
    expect(
      find(tunnel, "ServiceAccount", cloudflared.spec.serviceAccountName).automountServiceAccountToken,
    ).toBe(false);
  });

  it("pins an exact cloudflared release", () => {
    expect(container?.image).toMatch(/^cloudflare\/cloudflared:\d{4}\.\d+\.\d+(@sha256:[0-9a-f]{64})?$/);
  });

  it("reads its config from the ConfigMap and its credentials from the Secret", () => {
    const configDir = mountOf((v) => v.configMap?.name === "cloudflared");
    const credentialsDir = mountOf((v) => v.secret?.secretName === "cloudflared-credentials");
    expect(container?.args).toEqual(["tunnel", "--config", `${configDir}/config.yaml`, "run"]);
    expect(config["credentials-file"]).toBe(`${credentialsDir}/credentials.json`);
  });

  it("probes the readiness endpoint on the metrics port the config opens", () => {
    const port = container?.ports.find((p) => p.name === container.livenessProbe.httpGet.port);
    expect(container?.livenessProbe.httpGet.path).toBe("/ready");
    expect(config.metrics).toBe(`0.0.0.0:${port?.containerPort}`);
  });

  it("routes the hostname a deployed Worker calls to the provisioner's Service, and nothing else", async () => {
    const [route, fallback, ...rest] = config.ingress;
    expect(rest).toEqual([]);
    expect(fallback).toEqual({ service: "http_status:404" });
    const { name, namespace } = service.metadata;
    expect(route?.service).toBe(
      `http://${name}.${namespace}.svc.cluster.local:${service.spec.ports[0]?.port}`,
    );
    const production = unstable_readConfig(
      { config: new URL("../../wrangler.toml", import.meta.url).pathname, env: "production" },
      { hideWarnings: true },
    ) as { vars: { PROVISIONER_URL: string } };
    expect(`https://${route?.hostname}`).toBe(production.vars.PROVISIONER_URL);
  });

  it("lets only cloudflared connect to the provisioner", () => {
    const spec = policy("tenantry-provisioner-ingress");
    expect(spec.podSelector.matchLabels).toEqual(provisionerPod.metadata.labels);
    expect(spec.policyTypes).toEqual(["Ingress"]);
    expect(spec.ingress).toEqual([
      {
        from: [{ podSelector: { matchLabels: cloudflared.metadata.labels } }],
        ports: [{ protocol: "TCP", port: provisionerPort }],
      },
    ]);
  });

  it("lets cloudflared accept nothing and reach only DNS, the provisioner and Cloudflare's edge", () => {
    const spec = policy("cloudflared");
    expect(spec.podSelector.matchLabels).toEqual(cloudflared.metadata.labels);
    expect(spec.policyTypes).toEqual(["Ingress", "Egress"]);
    expect(spec.ingress).toEqual([]);
    const ports = (rule: Rule) => rule.ports?.map((p) => `${p.protocol}/${p.port}`).sort();
    const [dns, toProvisioner, edge, ...rest] = spec.egress ?? [];
    expect(rest).toEqual([]);
    expect(ports(dns ?? {})).toEqual(["TCP/53", "UDP/53"]);
    expect(toProvisioner?.to).toEqual([{ podSelector: { matchLabels: provisionerPod.metadata.labels } }]);
    expect(ports(toProvisioner ?? {})).toEqual([`TCP/${provisionerPort}`]);
    expect(ports(edge ?? {})).toEqual(["TCP/7844", "UDP/7844"]);
  });
});
