import type { FC } from "hono/jsx";
import { CsrfField, Field, Layout, ProblemAlert } from "../layout";
import type { FriendlyProblem } from "../messages";
import type { ConsoleSession } from "../session";

export interface Confirmation {
  title: string;
  /** What will happen, in a sentence or two. */
  consequence: string;
  action: string;
  button: string;
  danger: boolean;
  /** Suspensions record why. */
  askReason?: boolean;
  cancel: string;
}

/** The confirmation step of every destructive or disruptive action; works without script. */
export const ConfirmPage: FC<{
  session: ConsoleSession;
  confirm: Confirmation;
  problem?: FriendlyProblem;
}> = ({ session, confirm, problem }) => (
  <Layout title={confirm.title} session={session}>
    <section class="panel narrow" aria-labelledby="confirm-title">
      <h1 id="confirm-title">{confirm.title}</h1>
      <p>{confirm.consequence}</p>
      {problem && <ProblemAlert problem={problem} />}
      <form method="post" action={confirm.action}>
        <CsrfField session={session} />
        {confirm.askReason && (
          <Field id="reason" label="Reason">
            <textarea
              id="reason"
              name="reason"
              required
              maxlength={500}
              rows={3}
              aria-describedby="reason-hint"
            />
            <span id="reason-hint" class="hint">
              Recorded on the tenant and in the audit trail.
            </span>
          </Field>
        )}
        <div class="actions">
          <button type="submit" class={confirm.danger ? "danger" : undefined}>
            {confirm.button}
          </button>
          <a class="button secondary" href={confirm.cancel}>
            Cancel
          </a>
        </div>
      </form>
    </section>
  </Layout>
);
