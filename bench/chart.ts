/** A small dependency-free SVG bar chart of p50 and p99 latency per scenario. */
import type { Row } from "./run";

const WIDTH = 760;
const BAR_HEIGHT = 14;
const ROW_GAP = 14;
const LABEL_WIDTH = 260;

export function renderChart(rows: Row[]): string {
  const max = Math.max(...rows.map((r) => r.p99), 1);
  const scale = (WIDTH - LABEL_WIDTH - 80) / max;
  const rowHeight = BAR_HEIGHT * 2 + ROW_GAP;
  const height = rows.length * rowHeight + 50;
  const bars = rows
    .map((r, i) => {
      const y = 30 + i * rowHeight;
      return [
        `<text x="${LABEL_WIDTH - 8}" y="${y + BAR_HEIGHT + 4}" text-anchor="end">${escapeXml(r.scenario)}</text>`,
        `<rect x="${LABEL_WIDTH}" y="${y}" width="${(r.p50 * scale).toFixed(1)}" height="${BAR_HEIGHT}" fill="#2563eb"/>`,
        `<text x="${LABEL_WIDTH + r.p50 * scale + 4}" y="${y + 11}">${r.p50} ms</text>`,
        `<rect x="${LABEL_WIDTH}" y="${y + BAR_HEIGHT}" width="${(r.p99 * scale).toFixed(1)}" height="${BAR_HEIGHT}" fill="#93c5fd"/>`,
        `<text x="${LABEL_WIDTH + r.p99 * scale + 4}" y="${y + BAR_HEIGHT + 11}">${r.p99} ms</text>`,
      ].join("\n  ");
    })
    .join("\n  ");
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${WIDTH}" height="${height}" font-family="system-ui, sans-serif" font-size="12" role="img">
  <title>Latency per scenario, p50 and p99</title>
  <rect width="100%" height="100%" fill="#fff"/>
  <text x="${LABEL_WIDTH}" y="18" font-weight="bold">Latency per scenario: p50 (dark) and p99 (light)</text>
  ${bars}
</svg>
`;
}

function escapeXml(text: string): string {
  return text.replaceAll("&", "&amp;").replaceAll("<", "&lt;").replaceAll(">", "&gt;");
}
