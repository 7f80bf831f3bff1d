/**
 * The tenant page's sparkline of API calls per day over the last 30 days: a small inline SVG
 * line (no script, no library), like the hourly chart, with a text summary as its accessible
 * name and caption, and each day's figure as a tooltip.
 */
import type { FC } from "hono/jsx";
import type { TenantDailyUsage } from "./api-types";
import { formatCount } from "./messages";

export interface DailySeries {
  /** What is counted, for the summary. */
  label: string;
  /** Oldest first; `day` is the UTC day. */
  points: Array<{ day: string; count: number }>;
}

/** The sparkline's series from the daily usage answer (every day of the range, oldest first). */
export function apiCallsPerDay(usage: TenantDailyUsage): DailySeries {
  return {
    label: `API calls per day, ${usage.from} to ${usage.to} (UTC)`,
    points: usage.days.map((d) => ({ day: d.day, count: d.api_calls })),
  };
}

const WIDTH = 300;
const HEIGHT = 48;
/** Room for the line's stroke and the last day's dot at the edges. */
const PAD = 4;

export const UsageSparkline: FC<{ series: DailySeries }> = ({ series }) => {
  const { points } = series;
  const max = Math.max(1, ...points.map((p) => p.count));
  const total = points.reduce((sum, p) => sum + p.count, 0);
  const peak = points.reduce((best, p) => (p.count > best.count ? p : best), { day: "", count: 0 });
  const last = points.at(-1);
  const step = (WIDTH - 2 * PAD) / Math.max(points.length - 1, 1);
  const x = (i: number) => PAD + i * step;
  const y = (count: number) => HEIGHT - PAD - (count / max) * (HEIGHT - 2 * PAD);
  const line = points.map((p, i) => `${x(i).toFixed(1)},${y(p.count).toFixed(1)}`).join(" ");
  const area = `M${x(0).toFixed(1)},${HEIGHT - PAD} L${line.replaceAll(" ", " L")} L${x(points.length - 1).toFixed(1)},${HEIGHT - PAD} Z`;
  const summary =
    `${series.label}: ${formatCount(total)} in total` +
    (peak.count > 0 ? `, at most ${formatCount(peak.count)} on ${peak.day}` : "") +
    (last ? `; ${formatCount(last.count)} on ${last.day} so far` : "") +
    ". Counted up to five minutes ago.";
  return (
    <figure>
      <svg class="sparkline" viewBox={`0 0 ${WIDTH} ${HEIGHT}`} role="img" aria-label={summary}>
        {points.length > 0 && (
          <>
            <path class="area" d={area} />
            <polyline class="line" points={line} />
            {points.map((p, i) => (
              <rect class="day" x={x(i) - step / 2} y={0} width={step} height={HEIGHT}>
                <title>{`${p.day}: ${formatCount(p.count)}`}</title>
              </rect>
            ))}
            {last && <circle class="last" cx={x(points.length - 1)} cy={y(last.count)} r={3} />}
          </>
        )}
      </svg>
      <figcaption class="hint">{summary}</figcaption>
    </figure>
  );
};
