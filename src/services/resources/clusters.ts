/** The tenant's Kubernetes clusters: where its workloads may be placed. */
import { clusters } from "../../db/schema";
import { namedResource } from "./tenant-resources";

export interface ClusterInput {
  name: string;
  api_server_url: string;
  region: string;
  labels?: Record<string, string>;
}

export const clusterService = namedResource({
  table: clusters,
  type: "cluster",
  quota: "clusters",
  present: (row) => ({ api_server_url: row.apiServerUrl, region: row.region, labels: row.labels }),
  defaults: { labels: {} },
  columns: (input: Partial<ClusterInput>) => ({
    apiServerUrl: input.api_server_url,
    region: input.region,
    labels: input.labels,
  }),
});
