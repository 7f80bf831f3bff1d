import { z } from "@hono/zod-openapi";
import { boundedText, updatableRoutes } from "../crud-routes";

/** Kubernetes label syntax, since these label Kubernetes clusters: `[prefix/]name`, values ≤ 63. */
const LABEL_NAME = "[A-Za-z0-9](?:[-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?";
const DNS_SUBDOMAIN =
  "(?=[^/]{1,253}/)[a-z0-9](?:[-a-z0-9]{0,61}[a-z0-9])?(?:\\.[a-z0-9](?:[-a-z0-9]{0,61}[a-z0-9])?)*";
const MAX_LABELS = 64;

const LabelKey = z
  .string()
  .max(317)
  .regex(new RegExp(`^(?:${DNS_SUBDOMAIN}/)?${LABEL_NAME}$`), { message: "Not a Kubernetes label key" });
const LabelValue = z
  .string()
  .regex(new RegExp(`^(?:${LABEL_NAME})?$`), { message: "Not a Kubernetes label value" });

const Labels = z
  .record(LabelKey, LabelValue)
  .refine((labels) => Object.keys(labels).length <= MAX_LABELS, { message: `At most ${MAX_LABELS} labels` })
  .openapi({
    description: "Kubernetes-style labels; a PATCH replaces the whole map",
    example: { env: "prod" },
  });

/** The API server's base URL: https only, no credentials, query or fragment. */
const ApiServerUrl = z
  .url({ protocol: /^https$/, hostname: z.regexes.hostname })
  .max(2048)
  .refine((url) => /^https:\/\/[^@/?#\s]+(?:\/[^?#\s]*)?$/i.test(url), {
    message: "Must be https://host[:port][/path], without credentials, query or fragment",
  })
  .openapi({ example: "https://k8s.example.com:6443" });

export const { list, create, getOne, remove, patch, schemas } = updatableRoutes({
  collection: "clusters",
  singular: "Cluster",
  reader: "viewer",
  answer: { api_server_url: z.string(), region: z.string(), labels: z.record(z.string(), z.string()) },
  fields: { api_server_url: ApiServerUrl, region: boundedText(50), labels: Labels.optional() },
});
