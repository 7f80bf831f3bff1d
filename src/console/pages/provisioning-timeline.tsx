import type { FC } from "hono/jsx";
import type { ProvisioningJob } from "../api-types";
import { Badge, Layout, ProblemAlert, Time } from "../layout";
import type { ConsoleSession } from "../session";
import type { Section } from "../tenant-data";

const IN_FLIGHT = new Set(["pending", "sent"]);

/**
 * The tenant's provisioning jobs, newest first. While one is in flight, the script re-fetches
 * this region from the provisioning page every few seconds (`data-live`), and screen readers
 * hear the change (`aria-live`).
 */
export const ProvisioningTimeline: FC<{ slug: string; jobs: Section<ProvisioningJob[]> }> = ({
  slug,
  jobs,
}) => (
  <section
    class="panel"
    id="provisioning"
    aria-labelledby="provisioning-title"
    aria-live="polite"
    data-live={`/console/tenants/${slug}/provisioning`}
  >
    <h2 id="provisioning-title">Provisioning</h2>
    {!jobs.ok ? (
      <ProblemAlert problem={jobs.problem} />
    ) : jobs.data.length === 0 ? (
      <p class="muted">No provisioning jobs yet.</p>
    ) : (
      <ol class="timeline">
        {[...jobs.data].reverse().map((job) => (
          <li
            class={job.status}
            data-job={job.kind}
            data-pending={IN_FLIGHT.has(job.status) ? "" : undefined}
          >
            <strong>{job.kind}</strong> <Badge value={job.status} />{" "}
            <span class="hint">namespace {job.namespace}</span>
            <div class="hint">
              {job.attempts} {job.attempts === 1 ? "attempt" : "attempts"} · queued{" "}
              <Time iso={job.created_at} />
              {job.completed_at && (
                <>
                  {" "}
                  · finished <Time iso={job.completed_at} />
                </>
              )}
            </div>
            {job.last_error && <div class="error-text">Last error: {job.last_error}</div>}
          </li>
        ))}
      </ol>
    )}
  </section>
);

/** The timeline on its own page: what the live region polls, and a plain link without script. */
export const ProvisioningPage: FC<{
  session: ConsoleSession;
  slug: string;
  jobs: Section<ProvisioningJob[]>;
}> = ({ session, slug, jobs }) => (
  <Layout title={`Provisioning · ${slug}`} session={session} nav="tenant">
    <p>
      <a href={`/console/tenants/${slug}`}>← Back to {slug}</a>
    </p>
    <ProvisioningTimeline slug={slug} jobs={jobs} />
  </Layout>
);
