import type { FC } from "hono/jsx";
import { CsrfField, Field, Layout, Notice, ProblemAlert } from "../layout";
import type { FriendlyProblem } from "../messages";
import type { ConsoleSession } from "../session";

interface SignInProps {
  session: ConsoleSession;
  next?: string;
  email?: string;
  notice?: string;
  problem?: FriendlyProblem;
}

/** The sign-in form: the same login the API offers (POST /api/v1/auth/login), behind the console's CSRF check. */
export const SignInPage: FC<SignInProps> = ({ session, next, email, notice, problem }) => (
  <Layout title="Sign in" session={session}>
    <section class="panel narrow" aria-labelledby="sign-in-title">
      <h1 id="sign-in-title">Sign in</h1>
      <p class="sub">System admins manage every tenant; tenant admins manage their own.</p>
      <Notice text={notice} />
      {problem && <ProblemAlert problem={problem} />}
      <form method="post" action="/console/sign-in">
        <CsrfField session={session} />
        {next && <input type="hidden" name="next" value={next} />}
        <Field id="email" label="Email">
          <input
            id="email"
            name="email"
            type="email"
            autocomplete="username"
            required
            value={email}
            autofocus={!email}
          />
        </Field>
        <Field id="password" label="Password">
          <input
            id="password"
            name="password"
            type="password"
            autocomplete="current-password"
            required
            autofocus={Boolean(email)}
          />
        </Field>
        <button type="submit">Sign in</button>
      </form>
    </section>
  </Layout>
);
