/**
 * Limits on guessing passwords that cannot lock the owner out. Only failures are counted:
 * 10 a minute per client address, 10 a minute per (email, address) and 100 an hour per
 * email across addresses. The per-email budget only refuses addresses that have themselves
 * failed for that email, so a spray from a botnet never locks out the owner signing in from
 * a clean address; a success clears its own (email, address) counter.
 */
import type { Config } from "../env";
import { normalizeEmail } from "../lib/emails";
import { sha256Hex } from "../lib/encoding";
import { checkLimit, enforce, PUBLIC_POLICIES, peekLimit, resetLimit } from "./rate-limit";

export interface LoginAttempt {
  /** Hashed, so Redis never holds the address book. */
  emailKey: string;
  ip: string;
}

export async function loginAttempt(email: string, ip: string | null): Promise<LoginAttempt> {
  return { emailKey: await sha256Hex(normalizeEmail(email)), ip: ip ?? "unknown" };
}

/** Refuses (429) before any password work when this address or this email is over budget. */
export async function refuseIfOverLimit(config: Config, attempt: LoginAttempt): Promise<void> {
  const [ip, emailIp, email] = await Promise.all([
    peekLimit(config, PUBLIC_POLICIES.loginFailuresIp, attempt.ip),
    peekLimit(config, PUBLIC_POLICIES.loginFailuresEmailIp, pairKey(attempt)),
    peekLimit(config, PUBLIC_POLICIES.loginFailuresEmail, attempt.emailKey),
  ]);
  enforce(ip);
  enforce(emailIp);
  const addressHasFailed = emailIp.remaining < PUBLIC_POLICIES.loginFailuresEmailIp.limit;
  if (addressHasFailed) enforce(email);
}

/** Counts one failed password against all three budgets. */
export async function countFailure(config: Config, attempt: LoginAttempt): Promise<void> {
  await Promise.all([
    checkLimit(config, PUBLIC_POLICIES.loginFailuresIp, attempt.ip),
    checkLimit(config, PUBLIC_POLICIES.loginFailuresEmailIp, pairKey(attempt)),
    checkLimit(config, PUBLIC_POLICIES.loginFailuresEmail, attempt.emailKey),
  ]);
}

/** A right password from this address: its own failures for this email are forgiven. */
export async function clearAfterSuccess(config: Config, attempt: LoginAttempt): Promise<void> {
  await resetLimit(config, PUBLIC_POLICIES.loginFailuresEmailIp, pairKey(attempt));
}

function pairKey(attempt: LoginAttempt): string {
  return `${attempt.emailKey}:${attempt.ip}`;
}
