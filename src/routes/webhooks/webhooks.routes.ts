import { z } from "@hono/zod-openapi";
import { WEBHOOK_DELIVERY_STATUSES } from "../../db/schema";
import { jsonContent, jsonRequest } from "../../lib/openapi";
import { PageQuery, pageOf } from "../../lib/pagination";
import { EVENT_PREFIXES, isEventPattern, WEBHOOK_EVENT_TYPES } from "../../webhooks/events";
import { boundedText } from "../crud-routes";
import { defineRoute } from "../route-table";
import { IdParam, tenantSecurity } from "../schemas";

const EventPattern = z
  .string()
  .max(100)
  .refine(isEventPattern, {
    message: `Must be an event name (${WEBHOOK_EVENT_TYPES.join(", ")}) or a prefix pattern (${EVENT_PREFIXES.map((p) => `${p}.*`).join(", ")})`,
  })
  .openapi({ example: "cluster.*" });

const Events = z
  .array(EventPattern)
  .min(1)
  .max(50)
  .openapi({
    description: "Event names and `prefix.*` patterns this endpoint receives",
    example: ["cluster.*", "api_key.created"],
  });

const WebhookUrl = z.string().min(1).max(2048).openapi({
  example: "https://hooks.example.com/tenantry",
  description:
    "https only; no credentials in it, no fragment, no private, loopback, link-local or metadata address; redirects are not followed",
});

const Description = boundedText(500).nullable();

const WebhookEndpointSchema = z
  .object({
    id: z.uuid(),
    url: z.string(),
    description: z.string().nullable(),
    events: z.array(z.string()),
    enabled: z.boolean(),
    disabled_reason: z
      .string()
      .nullable()
      .openapi({ description: "`failing` when it was disabled after failing every delivery for 3 days" }),
    failing_since: z.iso
      .datetime()
      .nullable()
      .openapi({ description: "The first failed delivery since the last success" }),
    previous_secret_expires_at: z.iso
      .datetime()
      .nullable()
      .openapi({ description: "Until when the secret before the last rotation still signs" }),
    created_at: z.iso.datetime(),
    updated_at: z.iso.datetime(),
  })
  .openapi("WebhookEndpoint");

const WithSecret = WebhookEndpointSchema.extend({
  secret: z.string().openapi({
    description: "`whsec_<base64>`, the Standard Webhooks signing secret: shown once, never again",
  }),
});

const CreateBody = z
  .object({
    url: WebhookUrl,
    events: Events,
    description: Description.optional(),
    enabled: z.boolean().optional().openapi({ description: "Defaults to true" }),
  })
  .strict()
  .openapi("CreateWebhookEndpoint");

const UpdateBody = CreateBody.partial()
  .refine((body) => Object.keys(body).length > 0, { message: "Give at least one field to change" })
  .openapi("UpdateWebhookEndpoint");

export const WebhookDeliverySchema = z
  .object({
    id: z.uuid().openapi({ description: "The `webhook-id` header of every attempt (and of a replay)" }),
    endpoint_id: z.uuid(),
    event_id: z.uuid().openapi({ description: "The event's id, the body's `id`" }),
    event_type: z.string(),
    status: z.enum(WEBHOOK_DELIVERY_STATUSES),
    attempts: z.number().int(),
    response_status: z.number().int().nullable(),
    duration_ms: z.number().int().nullable(),
    last_error: z.string().nullable(),
    next_attempt_at: z.iso.datetime().nullable(),
    created_at: z.iso.datetime(),
    delivered_at: z.iso.datetime().nullable(),
  })
  .openapi("WebhookDelivery");

const DeliveryParams = z.object({
  id: z.uuid().openapi({ param: { name: "id", in: "path" } }),
  deliveryId: z.uuid().openapi({ param: { name: "deliveryId", in: "path" } }),
});

const admins = {
  access: { kind: "tenant", role: "admin" } as const,
  feature: "webhooks" as const,
  tags: ["webhooks"],
  security: tenantSecurity,
};

export const create = defineRoute({
  ...admins,
  method: "post",
  path: "/api/v1/webhooks",
  operationId: "createWebhookEndpoint",
  summary: "Register a webhook endpoint (its signing secret is shown once)",
  request: { body: jsonRequest(CreateBody) },
  problems: ["quota_exceeded"],
  responses: { 201: jsonContent(WithSecret.openapi("NewWebhookEndpoint"), "Created") },
});

export const list = defineRoute({
  ...admins,
  method: "get",
  path: "/api/v1/webhooks",
  operationId: "listWebhookEndpoints",
  summary: "List the tenant's webhook endpoints (never their secrets)",
  request: { query: PageQuery },
  responses: {
    200: jsonContent(pageOf(WebhookEndpointSchema, "WebhookEndpointPage"), "A page of endpoints"),
  },
});

export const getOne = defineRoute({
  ...admins,
  method: "get",
  path: "/api/v1/webhooks/{id}",
  operationId: "getWebhookEndpoint",
  summary: "Get one webhook endpoint",
  request: { params: IdParam },
  problems: ["not_found"],
  responses: { 200: jsonContent(WebhookEndpointSchema, "The endpoint") },
});

export const patch = defineRoute({
  ...admins,
  method: "patch",
  path: "/api/v1/webhooks/{id}",
  operationId: "updateWebhookEndpoint",
  summary: "Change a webhook endpoint (enabling it again clears its failure streak)",
  request: { params: IdParam, body: jsonRequest(UpdateBody) },
  problems: ["not_found"],
  responses: { 200: jsonContent(WebhookEndpointSchema, "The updated endpoint") },
});

export const remove = defineRoute({
  ...admins,
  method: "delete",
  path: "/api/v1/webhooks/{id}",
  operationId: "deleteWebhookEndpoint",
  summary: "Delete a webhook endpoint and its delivery log",
  request: { params: IdParam },
  problems: ["not_found"],
  responses: { 204: { description: "Deleted" } },
});

export const rotateSecret = defineRoute({
  ...admins,
  method: "post",
  path: "/api/v1/webhooks/{id}/rotate-secret",
  operationId: "rotateWebhookSecret",
  summary: "Issue a new signing secret; the old one also signs for 24 hours",
  request: { params: IdParam },
  problems: ["not_found"],
  responses: { 200: jsonContent(WithSecret.openapi("RotatedWebhookEndpoint"), "Rotated") },
});

export const sendTest = defineRoute({
  ...admins,
  method: "post",
  path: "/api/v1/webhooks/{id}/test",
  operationId: "sendWebhookTest",
  summary: "Send a `webhook.test` event to this endpoint now",
  request: { params: IdParam },
  problems: ["not_found", "conflict"],
  responses: { 202: jsonContent(WebhookDeliverySchema, "The delivery, on its way") },
});

export const deliveries = defineRoute({
  ...admins,
  method: "get",
  path: "/api/v1/webhooks/{id}/deliveries",
  operationId: "listWebhookDeliveries",
  summary: "The endpoint's delivery log, newest first",
  request: { params: IdParam, query: PageQuery },
  problems: ["not_found"],
  responses: {
    200: jsonContent(pageOf(WebhookDeliverySchema, "WebhookDeliveryPage"), "A page of deliveries"),
  },
});

export const replay = defineRoute({
  ...admins,
  method: "post",
  path: "/api/v1/webhooks/{id}/deliveries/{deliveryId}/replay",
  operationId: "replayWebhookDelivery",
  summary: "Send a delivery again, with the same webhook-id and body",
  request: { params: DeliveryParams },
  problems: ["not_found", "conflict"],
  responses: { 202: jsonContent(WebhookDeliverySchema, "The delivery, on its way again") },
});
