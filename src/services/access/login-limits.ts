/**
 * Limits on guessing passwords that cannot lock the owner out. Only failures are counted:
 * 10 a minute per client address, 10 a minute per (email, address) and 100 an hour per
 * email across addresses. The per-email budget only refuses addresses that have themselves
 * failed for that email within its hour, so a spray from a botnet never locks out the owner signing in from
 * a clean address; a success clears its own (email, address) counter. Off Cloudflare (no
 * `CF-Connecting-IP`) only the per-email budget applies: there is no address to meter.
 */
import type { Config } from "../../env";
import { normalizeEmail } from "../../lib/emails";
import { sha256Hex } from "../../lib/encoding";
import { checkLimit, enforce, PUBLIC_POLICIES, peekLimit, resetLimit } from "../platform/rate-limit";

export interface LoginAttempt {
  /** Hashed, so Redis never holds the address book. */
  emailKey: string;
  /**
   * The block Cloudflare's `CF-Connecting-IP` falls in (the IPv4 address, or the IPv6 /64);
   * null only off Cloudflare (tests, `wrangler dev`), where there is no address to meter and
   * only the per-email budget applies.
   */
  ip: string | null;
}

export async function loginAttempt(email: string, ip: string | null): Promise<LoginAttempt> {
  return { emailKey: await sha256Hex(normalizeEmail(email)), ip };
}

/** Refuses (429) before any password work when this address or this email is over budget. */
export async function refuseIfOverLimit(config: Config, attempt: LoginAttempt): Promise<void> {
  if (attempt.ip === null) {
    enforce(await peekLimit(config, PUBLIC_POLICIES.loginFailuresEmail, attempt.emailKey));
    return;
  }
  const pair = pairKey(attempt, attempt.ip);
  const [ip, emailIp, email, failed] = await Promise.all([
    peekLimit(config, PUBLIC_POLICIES.loginFailuresIp, attempt.ip),
    peekLimit(config, PUBLIC_POLICIES.loginFailuresEmailIp, pair),
    peekLimit(config, PUBLIC_POLICIES.loginFailuresEmail, attempt.emailKey),
    peekLimit(config, PUBLIC_POLICIES.loginFailedAddress, pair),
  ]);
  enforce(ip);
  enforce(emailIp);
  const addressHasFailed = failed.remaining < PUBLIC_POLICIES.loginFailedAddress.limit;
  if (addressHasFailed) enforce(email);
}

/** Counts one failed password against every budget that applies. */
export async function countFailure(config: Config, attempt: LoginAttempt): Promise<void> {
  const counts = [checkLimit(config, PUBLIC_POLICIES.loginFailuresEmail, attempt.emailKey)];
  if (attempt.ip !== null) {
    counts.push(
      checkLimit(config, PUBLIC_POLICIES.loginFailuresIp, attempt.ip),
      checkLimit(config, PUBLIC_POLICIES.loginFailuresEmailIp, pairKey(attempt, attempt.ip)),
      checkLimit(config, PUBLIC_POLICIES.loginFailedAddress, pairKey(attempt, attempt.ip)),
    );
  }
  await Promise.all(counts);
}

/** A right password from this address: its own failures for this email are forgiven. */
export async function clearAfterSuccess(config: Config, attempt: LoginAttempt): Promise<void> {
  if (attempt.ip === null) return;
  const pair = pairKey(attempt, attempt.ip);
  await Promise.all([
    resetLimit(config, PUBLIC_POLICIES.loginFailuresEmailIp, pair),
    resetLimit(config, PUBLIC_POLICIES.loginFailedAddress, pair),
  ]);
}

function pairKey(attempt: LoginAttempt, ip: string): string {
  return `${attempt.emailKey}:${ip}`;
}
