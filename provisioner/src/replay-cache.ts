/**
 * The `jti`s already accepted, each remembered until its token can no longer verify (exp +
 * clock tolerance), so a token is accepted at most once.
 *
 * Bounded memory: at most `capacity` entries. When it is full of tokens that are still
 * live, a new token is refused (the Worker retries the job later) rather than an entry
 * being forgotten early: forgetting a live `jti` would let that token be replayed. With
 * tokens living ≤ 65 s, the default capacity admits about 150 requests per second.
 *
 * The cache lives in this process only: two replicas would each accept the same token once,
 * which is why the Deployment runs a single replica (README "Deploying to a cluster").
 */
export const DEFAULT_REPLAY_CACHE_CAPACITY = 10_000;

export type Admission = "accepted" | "replayed" | "full";

export class ReplayCache {
  /** jti → the time (ms) after which its token is expired everywhere. Insertion ≈ expiry order. */
  private readonly until = new Map<string, number>();

  constructor(
    private readonly capacity = DEFAULT_REPLAY_CACHE_CAPACITY,
    private readonly now: () => number = Date.now,
  ) {}

  get size(): number {
    return this.until.size;
  }

  /** Records `jti` as used until `untilMs`, unless it was used before or there is no room. */
  admit(jti: string, untilMs: number): Admission {
    const now = this.now();
    this.dropExpiredFromFront(now);
    const seen = this.until.get(jti);
    if (seen !== undefined && seen > now) return "replayed";
    if (this.until.size >= this.capacity) {
      this.dropAllExpired(now);
      if (this.until.size >= this.capacity) return "full";
    }
    this.until.set(jti, untilMs);
    return "accepted";
  }

  /** Cheap and usually enough: tokens arrive roughly in the order they expire. */
  private dropExpiredFromFront(now: number): void {
    for (const [jti, until] of this.until) {
      if (until > now) return;
      this.until.delete(jti);
    }
  }

  /** When full: tokens with longer lifetimes may have kept shorter-lived ones behind them. */
  private dropAllExpired(now: number): void {
    for (const [jti, until] of this.until) if (until <= now) this.until.delete(jti);
  }
}
