import type { FC } from "hono/jsx";
import type { NewApiKey } from "../api-types";
import { Layout } from "../layout";
import { Secret } from "../secret";
import type { ConsoleSession } from "../session";

/** The answer to the create-key form: the key is shown here once and never again. */
export const ApiKeyCreatedPage: FC<{ session: ConsoleSession; slug: string; apiKey: NewApiKey }> = ({
  session,
  slug,
  apiKey: key,
}) => (
  <Layout title="API key created" session={session} nav="tenant">
    <section class="panel narrow" aria-labelledby="key-title">
      <h1 id="key-title">API key “{key.name}” created</h1>
      <div class="alert warn" role="status">
        <strong>Copy the key now.</strong> It is shown only on this page; the API stores only its hash.
      </div>
      <Secret id="new-api-key" label={`${key.role} key for ${slug}`} value={key.key} />
      <a class="button" href={`/console/tenants/${slug}#api-keys`}>
        Back to {slug}
      </a>
    </section>
  </Layout>
);
