/**
 * Simulated distance for the local stand-ins (Neon's SQL-over-HTTP and WebSocket proxy,
 * Upstash's REST API): at the edge every round trip to them is a wide-area trip, so the
 * stand-ins can add `TENANTRY_SIM_RTT_MS` to each one (`npm run dev`, `npm run bench -- --rtt`).
 */
import { setTimeout as sleep } from "node:timers/promises";

export const SIM_RTT_ENV = "TENANTRY_SIM_RTT_MS";
const MAX_SIM_RTT_MS = 10_000;

/**
 * Reads a simulated RTT (`TENANTRY_SIM_RTT_MS`, or a flag named by `source`): unset or empty
 * is 0; anything but a whole number of milliseconds up to 10,000 is refused by name.
 */
export function parseSimRtt(raw: string | undefined, source = SIM_RTT_ENV): number {
  const value = raw?.trim() ?? "";
  if (value === "") return 0;
  const ms = Number(value);
  if (!/^\d+$/.test(value) || ms > MAX_SIM_RTT_MS) {
    throw new Error(
      `${source} must be a whole number of milliseconds from 0 to ${MAX_SIM_RTT_MS} (got ${JSON.stringify(raw)})`,
    );
  }
  return ms;
}

/**
 * Waits until `deadline` on the high-resolution clock. The stand-ins' simulated distance
 * promises *at least* the RTT, and a bare setTimeout can fire up to a millisecond early.
 */
export async function delayUntil(deadline: number): Promise<void> {
  for (let left = deadline - performance.now(); left > 0; left = deadline - performance.now()) {
    await sleep(Math.ceil(left));
  }
}
