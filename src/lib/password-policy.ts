/**
 * What a new password must be, wherever one is set (invitation accept, POST /auth/password,
 * admin creation), never checked at login: 12–256 characters, not the account's email (nor
 * its local part), and not one of the 10,000 most common passwords.
 */
import { COMMON_PASSWORDS } from "./common-passwords.data";
import { normalizeEmail } from "./emails";
import { type FieldError, Problem } from "./problem";

export const PASSWORD_MIN_LENGTH = 12;
export const PASSWORD_MAX_LENGTH = 256;

let common: Set<string> | undefined;

function isCommon(password: string): boolean {
  common ??= new Set(COMMON_PASSWORDS.split("\n"));
  return common.has(password.toLowerCase());
}

/** The policy's objections to `password` for the account `email` (empty when acceptable). */
export function passwordIssues(password: string, email: string, path = "password"): FieldError[] {
  const length = [...password].length;
  if (length < PASSWORD_MIN_LENGTH || length > PASSWORD_MAX_LENGTH) {
    return [
      {
        path,
        message: `Must be ${PASSWORD_MIN_LENGTH}–${PASSWORD_MAX_LENGTH} characters long`,
        code: length < PASSWORD_MIN_LENGTH ? "too_small" : "too_big",
      },
    ];
  }
  const lowered = normalizeEmail(password);
  const address = normalizeEmail(email);
  if (lowered === address || lowered === address.split("@")[0]) {
    return [{ path, message: "Must not be the account's email address", code: "password_is_email" }];
  }
  if (isCommon(password)) {
    return [{ path, message: "Is one of the most common passwords", code: "password_too_common" }];
  }
  return [];
}

/** Throws 400 `validation_failed` naming the field when the password breaks the policy. */
export function assertPasswordAcceptable(password: string, email: string, path = "password"): void {
  const errors = passwordIssues(password, email, path);
  if (errors.length > 0) {
    throw new Problem("validation_failed", "The password does not meet the password policy.", {
      extensions: { errors },
    });
  }
}
