/** The plugins a tenant has installed, each at one version with its configuration. */
import { plugins } from "../../db/schema";
import { namedResource } from "./tenant-resources";

export interface PluginInput {
  name: string;
  version: string;
  config?: Record<string, unknown>;
}

export const pluginService = namedResource({
  table: plugins,
  type: "plugin",
  quota: "plugins",
  present: (row) => ({ version: row.version, config: row.config }),
  defaults: { config: {} },
  columns: (input: Partial<PluginInput>) => ({ version: input.version, config: input.config }),
});
