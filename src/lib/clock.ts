/**
 * The time source of every cache and expiry check. Tests move it forward to prove that a
 * cached decision (suspension, revoked key) stops being served once its TTL has passed.
 */
export const DAY_MS = 86_400_000;

export const clock = {
  offsetMs: 0,
  now(): number {
    return Date.now() + this.offsetMs;
  },
};
