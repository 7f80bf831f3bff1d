import { describe, expect, it } from "vitest";
import { ReplayCache } from "../src/replay-cache";

describe("ReplayCache", () => {
  it("accepts a jti once, until it expires", () => {
    let now = 1_000;
    const cache = new ReplayCache(10, () => now);
    expect(cache.admit("a", 2_000)).toBe("accepted");
    expect(cache.admit("a", 2_000)).toBe("replayed");
    now = 2_000;
    // Expired: its token can no longer verify, so the entry has nothing left to guard.
    expect(cache.admit("b", 3_000)).toBe("accepted");
    expect(cache.size).toBe(1);
  });

  it("when full of live entries refuses new ones and keeps every live one", () => {
    let now = 0;
    const cache = new ReplayCache(2, () => now);
    expect(cache.admit("a", 100)).toBe("accepted");
    expect(cache.admit("b", 100)).toBe("accepted");
    expect(cache.admit("c", 100)).toBe("full");
    expect(cache.admit("a", 100)).toBe("replayed");
    expect(cache.admit("b", 100)).toBe("replayed");
    now = 100;
    expect(cache.admit("c", 200)).toBe("accepted");
  });

  it("when full finds expired entries behind a longer-lived one", () => {
    let now = 0;
    const cache = new ReplayCache(2, () => now);
    expect(cache.admit("long", 1_000)).toBe("accepted");
    expect(cache.admit("short", 10)).toBe("accepted");
    now = 10;
    expect(cache.admit("next", 1_000)).toBe("accepted");
    expect(cache.admit("long", 1_000)).toBe("replayed");
    expect(cache.size).toBe(2);
  });
});
