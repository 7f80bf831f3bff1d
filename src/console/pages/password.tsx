import type { FC } from "hono/jsx";
import { PASSWORD_MAX_LENGTH, PASSWORD_MIN_LENGTH } from "../../lib/password-policy";
import { CsrfField, Field, Layout, Notice, ProblemAlert } from "../layout";
import type { FriendlyProblem } from "../messages";
import type { ConsoleSession } from "../session";

interface PasswordProps {
  session: ConsoleSession;
  notice?: string;
  problem?: FriendlyProblem;
}

type FieldName = "current_password" | "new_password" | "confirm_password";

const FIELD_NAMES: readonly string[] = ["current_password", "new_password", "confirm_password"];

/**
 * The change-password form. Nothing typed is ever rendered back: after a refusal every field
 * is empty again and the reason sits next to the field it is about.
 */
export const PasswordPage: FC<PasswordProps> = ({ session, notice, problem }) => {
  const errors = new Map<string, string>();
  for (const f of problem?.fields ?? []) if (FIELD_NAMES.includes(f.path)) errors.set(f.path, f.message);
  const unplaced = problem && { ...problem, fields: problem.fields.filter((f) => !errors.has(f.path)) };
  const focus = FIELD_NAMES.find((name) => errors.has(name)) ?? "current_password";
  const field = (name: FieldName) => ({ name, error: errors.get(name), autofocus: name === focus });
  return (
    <Layout title="Change password" session={session} nav="password">
      <section class="panel narrow" aria-labelledby="password-title">
        <h1 id="password-title">Change password</h1>
        <p class="sub">Every other session of your account is signed out; this one continues.</p>
        <Notice text={notice} />
        {unplaced && <ProblemAlert problem={unplaced} />}
        <form method="post" action="/console/password">
          <CsrfField session={session} />
          {/* Lets password managers file the new password under the right account. */}
          <input
            type="email"
            name="username"
            autocomplete="username"
            value={session.identity?.email}
            hidden
          />
          <PasswordField
            {...field("current_password")}
            label="Current password"
            autocomplete="current-password"
          />
          <PasswordField
            {...field("new_password")}
            label="New password"
            autocomplete="new-password"
            minlength={PASSWORD_MIN_LENGTH}
            hint={`${PASSWORD_MIN_LENGTH}–${PASSWORD_MAX_LENGTH} characters, not your email address, not a common password.`}
          />
          <PasswordField
            {...field("confirm_password")}
            label="Confirm new password"
            autocomplete="new-password"
          />
          <button type="submit">Change password</button>
        </form>
      </section>
    </Layout>
  );
};

interface PasswordFieldProps {
  name: FieldName;
  label: string;
  autocomplete: "current-password" | "new-password";
  autofocus: boolean;
  error?: string;
  hint?: string;
  minlength?: number;
}

const PasswordField: FC<PasswordFieldProps> = ({
  name,
  label,
  autocomplete,
  autofocus,
  error,
  hint,
  minlength,
}) => {
  const hintId = hint ? `${name}-hint` : undefined;
  const errorId = error ? `${name}-error` : undefined;
  const describedBy = [hintId, errorId].filter(Boolean).join(" ");
  return (
    <Field id={name} label={label}>
      <input
        id={name}
        name={name}
        type="password"
        autocomplete={autocomplete}
        required
        minlength={minlength}
        autofocus={autofocus}
        aria-invalid={error ? "true" : undefined}
        aria-describedby={describedBy || undefined}
      />
      {hint && (
        <span id={hintId} class="hint">
          {hint}
        </span>
      )}
      {error && (
        <span id={errorId} class="error-text">
          {error}
        </span>
      )}
    </Field>
  );
};
