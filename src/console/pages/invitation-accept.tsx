import type { FC } from "hono/jsx";
import { PASSWORD_MIN_LENGTH } from "../../lib/password-policy";
import { CsrfField, Field, Layout, ProblemAlert } from "../layout";
import type { FriendlyProblem } from "../messages";
import type { ConsoleSession } from "../session";

interface InvitationAcceptProps {
  session: ConsoleSession;
  /** What was posted, after a refusal: the code and the name, never the password. */
  token?: string;
  name?: string;
  problem?: FriendlyProblem;
}

/**
 * Accepting an invitation. The emailed link carries the token in its fragment, which no
 * server sees: the console's script copies it into the code field, hides the field and drops
 * the fragment from the address bar. Without script the field stays visible and the invitee
 * pastes the code the email also prints. One form serves both cases the API knows: a new
 * account (a name and a new password) and an existing one (its current password).
 */
export const InvitationAcceptPage: FC<InvitationAcceptProps> = ({ session, token, name, problem }) => (
  <Layout title="Accept invitation" session={session}>
    <section class="panel narrow" aria-labelledby="accept-title">
      <h1 id="accept-title">Accept your invitation</h1>
      <p class="sub">
        New to Tenantry? Enter your name and choose a password. Already have an account for the invited email?
        Enter its current password.
      </p>
      {problem && <ProblemAlert problem={problem} />}
      <form method="post" action="/console/invitations/accept">
        <CsrfField session={session} />
        <div data-fragment-field="token">
          <Field id="token" label="Invitation code">
            <input
              id="token"
              name="token"
              type="text"
              required
              autocomplete="off"
              spellcheck={false}
              value={token}
              aria-describedby="token-hint"
            />
            <span id="token-hint" class="hint">
              Open the link in your invitation email, or paste the code it shows (inv_…).
            </span>
          </Field>
        </div>
        <Field id="name" label="Your name (new account)">
          <input id="name" name="name" type="text" autocomplete="name" maxlength={100} value={name} />
        </Field>
        <Field id="password" label="Password">
          <input id="password" name="password" type="password" required aria-describedby="password-hint" />
          <span id="password-hint" class="hint">
            A new account: at least {PASSWORD_MIN_LENGTH} characters, not your email address, not a common
            password. An existing account: its current password.
          </span>
        </Field>
        <button type="submit">Accept and sign in</button>
      </form>
    </section>
  </Layout>
);
