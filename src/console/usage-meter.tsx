/** A quota as a labelled `<meter>`: native colour states (ok → near → at the limit) and an accessible name. */
import type { FC } from "hono/jsx";
import { formatCount, humanQuota } from "./messages";

const NEAR = 0.8;

export interface QuotaUsage {
  limit: number;
  used: number | null;
}

/** `compact` hides the label visually (table cells, where the column header names the quota). */
export const UsageMeter: FC<{
  quota: string;
  usage: QuotaUsage | undefined;
  label?: string;
  compact?: boolean;
}> = ({ quota, usage, label, compact }) => {
  const name = label ?? capitalise(humanQuota(quota));
  if (!usage || usage.used === null) return <span class="muted">—</span>;
  const max = Math.max(usage.limit, 1);
  const full = usage.used >= usage.limit;
  return (
    <div class="usage" data-quota={quota}>
      <span class={compact ? "vh" : "label"}>{name}</span>
      <meter
        min={0}
        max={max}
        value={Math.min(usage.used, max)}
        low={max * NEAR}
        high={max * 0.99}
        optimum={0}
        aria-label={`${name}: ${usage.used} of ${usage.limit}`}
      />
      <span class={full ? "of at-limit" : "of"}>
        {formatCount(usage.used)} / {formatCount(usage.limit)}
        {full ? " (at limit)" : ""}
      </span>
    </div>
  );
};

function capitalise(text: string): string {
  return text.charAt(0).toUpperCase() + text.slice(1);
}
