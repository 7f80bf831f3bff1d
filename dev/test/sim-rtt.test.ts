import { describe, expect, it } from "vitest";
import { startBackends } from "../backends";
import { parseSimRtt } from "../sim-rtt";

describe("TENANTRY_SIM_RTT_MS", () => {
  it("is 0 when unset or empty", () => {
    expect(parseSimRtt(undefined)).toBe(0);
    expect(parseSimRtt("")).toBe(0);
  });

  it("accepts whole milliseconds from 0 to 10,000", () => {
    expect(parseSimRtt("0")).toBe(0);
    expect(parseSimRtt("50")).toBe(50);
    expect(parseSimRtt("10000")).toBe(10_000);
  });

  it.each(["-1", "1.5", "abc", "10001", "1e3", "50ms"])("refuses %j, naming the variable", (raw) => {
    expect(() => parseSimRtt(raw)).toThrow(/^TENANTRY_SIM_RTT_MS must be a whole number of milliseconds/);
  });

  it("names the flag it was given through", () => {
    expect(() => parseSimRtt("-5", "--rtt")).toThrow(/^--rtt must be/);
  });

  it("is refused by startBackends before anything starts", async () => {
    await expect(
      startBackends({
        dataDir: "/nonexistent/never-created",
        persistent: false,
        database: "never_created",
        dropOnStop: false,
        adminEmail: "nobody@example.test",
        adminPassword: "unused-password",
        simRttMs: -1,
      }),
    ).rejects.toThrow(/^simRttMs must be a whole number/);
  });
});
