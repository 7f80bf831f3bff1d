/** System admins' status panel: each dependency check, the provisioning backlog and the configuration warnings. */
import type { FC } from "hono/jsx";
import type { SystemStatus } from "./api-types";
import { ProblemAlert } from "./layout";
import { formatCount, formatSeconds } from "./messages";
import type { Section } from "./tenant-data";

export type { SystemStatus };

/** The stylesheet's badge tones (green, amber, red), borrowed from the job statuses. */
const TONES = { good: "succeeded", warning: "pending", bad: "dead" } as const;

export const SystemStatusPanel: FC<{ status: Section<SystemStatus> }> = ({ status }) => (
  <section class="panel" id="system-status" aria-labelledby="system-status-title">
    <h2 id="system-status-title">System status</h2>
    {status.ok ? <Report status={status.data} /> : <ProblemAlert problem={status.problem} />}
  </section>
);

const Report: FC<{ status: SystemStatus }> = ({ status: { db, redis, provisioner, queue, warnings } }) => (
  <>
    <dl class="facts">
      <dt>Database</dt>
      <dd data-check="db">
        <Tone tone={db === "ok" ? "good" : "bad"} text={db} />
      </dd>
      <dt>Redis</dt>
      <dd data-check="redis">
        <Tone tone={redis === "ok" ? "good" : "bad"} text={redis} />
      </dd>
      <dt>Provisioner</dt>
      <dd data-check="provisioner">
        {provisioner.reachable ? (
          <Tone
            tone={provisioner.mode === "live" ? "good" : "warning"}
            text={provisioner.mode ?? "reachable"}
          />
        ) : (
          <Tone tone="bad" text="unreachable" />
        )}
        {provisioner.version && <span class="muted"> version {provisioner.version}</span>}
      </dd>
      <dt>Provisioning jobs</dt>
      <dd data-check="queue">
        {queue ? (
          <>
            {formatCount(queue.pending)} pending · {formatCount(queue.sent)} sent ·{" "}
            <span class={queue.failed > 0 ? "error-text" : undefined}>
              {formatCount(queue.failed)} failed
            </span>{" "}
            · <span class={queue.dead > 0 ? "error-text" : undefined}>{formatCount(queue.dead)} dead</span>
            {queue.oldest_age_s !== null && (
              <span class="muted"> · oldest open {formatSeconds(queue.oldest_age_s)}</span>
            )}
          </>
        ) : (
          <span class="muted">could not be counted</span>
        )}
      </dd>
    </dl>
    <h3>Configuration</h3>
    {warnings.length === 0 ? (
      <p class="muted">No warnings.</p>
    ) : (
      <ul class="warnings">
        {warnings.map((w) => (
          <li data-warning={w.code}>
            <Tone tone={w.severity === "error" ? "bad" : "warning"} text={w.severity} /> {w.message}{" "}
            <code class="muted">{w.code}</code>
          </li>
        ))}
      </ul>
    )}
  </>
);

const Tone: FC<{ tone: keyof typeof TONES; text: string }> = ({ tone, text }) => (
  <span class={`badge ${TONES[tone]}`}>{text}</span>
);
