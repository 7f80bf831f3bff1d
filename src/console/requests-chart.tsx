/**
 * The tenant page's "requests per hour" chart: 24 hourly bars as inline SVG (no script, no
 * library), with a text summary as its accessible name.
 */
import type { FC } from "hono/jsx";
import type { Usage } from "./api-types";

export interface HourlySeries {
  /** What is counted, shown as the chart's caption. */
  label: string;
  /** Oldest first; `hour` is the ISO start of the hour. */
  points: Array<{ hour: string; count: number }>;
}

/** The chart's series from the usage answer (the API's per-tenant request metrics). */
export function requestsPerHour(usage: Usage): HourlySeries {
  return {
    label: "API requests per hour, last 24 hours",
    points: usage.requests_per_hour.map((p) => ({ hour: p.hour, count: p.requests })),
  };
}

const WIDTH = 560;
const HEIGHT = 180;
const LEFT = 36;
const BOTTOM = 24;
const TOP = 12;

export const RequestsChart: FC<{ series: HourlySeries }> = ({ series }) => {
  const max = Math.max(1, ...series.points.map((p) => p.count));
  const total = series.points.reduce((sum, p) => sum + p.count, 0);
  const slot = (WIDTH - LEFT) / Math.max(series.points.length, 1);
  const plotHeight = HEIGHT - BOTTOM - TOP;
  const peak = series.points.reduce((best, p) => (p.count > best.count ? p : best), { hour: "", count: 0 });
  const summary = `${series.label}: ${total} in total${peak.count > 0 ? `, at most ${peak.count} in the hour from ${peak.hour.slice(11, 16)} UTC` : ""}.`;
  return (
    <figure>
      <svg class="chart" viewBox={`0 0 ${WIDTH} ${HEIGHT}`} role="img" aria-label={summary}>
        <line class="axis" x1={LEFT} y1={TOP + plotHeight} x2={WIDTH} y2={TOP + plotHeight} />
        <line class="axis" x1={LEFT} y1={TOP} x2={LEFT} y2={TOP + plotHeight} />
        <text x={LEFT - 6} y={TOP + 4} text-anchor="end">
          {max}
        </text>
        <text x={LEFT - 6} y={TOP + plotHeight} text-anchor="end">
          0
        </text>
        {series.points.map((p, i) => {
          const h = (p.count / max) * plotHeight;
          const x = LEFT + i * slot + slot * 0.15;
          return (
            <g>
              <rect class="bar" x={x} y={TOP + plotHeight - h} width={slot * 0.7} height={h}>
                <title>{`${p.hour.slice(11, 16)} UTC: ${p.count}`}</title>
              </rect>
              {i % 6 === 0 && (
                <text x={x} y={HEIGHT - 6}>
                  {`${p.hour.slice(11, 16)}`}
                </text>
              )}
            </g>
          );
        })}
      </svg>
      <figcaption class="hint">{summary}</figcaption>
    </figure>
  );
};
