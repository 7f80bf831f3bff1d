import { createConsole } from "./console/console.index";
import { backgroundWork } from "./lib/after-response";
import { createRouter } from "./lib/router";
import { accessLog } from "./middleware/access-log";
import { requestContext } from "./middleware/context";
import { notFound, onError } from "./middleware/errors";
import { jsonBody } from "./middleware/json-body";
import { pathSelection } from "./middleware/path-selection";
import { requestId } from "./middleware/request-id";
import { webhookSweep } from "./middleware/webhook-sweep";
import { apiKeysRouter } from "./routes/api-keys/api-keys.index";
import { auditEventsRouter } from "./routes/audit-events/audit-events.index";
import { authRouter } from "./routes/auth/auth.index";
import { clustersRouter } from "./routes/clusters/clusters.index";
import { credentialsRouter } from "./routes/credentials/credentials.index";
import { mountDocs } from "./routes/docs/docs.index";
import { healthRouter } from "./routes/health/health.index";
import { invitationsRouter } from "./routes/invitations/invitations.index";
import { meRouter } from "./routes/me/me.index";
import { membersRouter } from "./routes/members/members.index";
import { metricsRouter } from "./routes/metrics/metrics.index";
import { pluginsRouter } from "./routes/plugins/plugins.index";
import { provisioningRouter } from "./routes/provisioning/provisioning.index";
import { systemRouter } from "./routes/system/system.index";
import { tenantsRouter } from "./routes/tenants/tenants.index";
import { webhooksRouter } from "./routes/webhooks/webhooks.index";

/** The Hono app: cross-cutting middleware in request order, then every resource router. */
export function createApp() {
  const app = createRouter();
  app.use(
    backgroundWork(),
    requestId(),
    accessLog(),
    requestContext(),
    webhookSweep(),
    jsonBody(),
    pathSelection(),
  );
  for (const router of [
    healthRouter,
    authRouter,
    meRouter,
    membersRouter,
    apiKeysRouter,
    tenantsRouter,
    invitationsRouter,
    auditEventsRouter,
    metricsRouter,
    systemRouter,
    clustersRouter,
    pluginsRouter,
    credentialsRouter,
    provisioningRouter,
    webhooksRouter,
  ])
    app.route("/", router);
  app.route("/console", createConsole(app.fetch));
  mountDocs(app);
  app.notFound(notFound);
  app.onError(onError);
  return app;
}
