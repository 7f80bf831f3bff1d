/** A small dependency-free SVG bar chart: p50 latency per scenario, near (dark) and far (light). */

const WIDTH = 820;
const BAR_HEIGHT = 12;
const ROW_GAP = 12;
const LABEL_WIDTH = 330;

export interface ChartRow {
  scenario: string;
  near: number;
  far: number | null;
}

export function renderChart(rows: ChartRow[], labels: { near: string; far: string }): string {
  const max = Math.max(...rows.map((r) => Math.max(r.near, r.far ?? 0)), 1);
  const scale = (WIDTH - LABEL_WIDTH - 80) / max;
  const rowHeight = BAR_HEIGHT * 2 + ROW_GAP;
  const height = rows.length * rowHeight + 50;
  const bar = (value: number, y: number, fill: string) =>
    [
      `<rect x="${LABEL_WIDTH}" y="${y}" width="${(value * scale).toFixed(1)}" height="${BAR_HEIGHT}" fill="${fill}"/>`,
      `<text x="${LABEL_WIDTH + value * scale + 4}" y="${y + 10}">${value} ms</text>`,
    ].join("\n  ");
  const bars = rows
    .map((r, i) => {
      const y = 30 + i * rowHeight;
      return [
        `<text x="${LABEL_WIDTH - 8}" y="${y + BAR_HEIGHT + 4}" text-anchor="end">${escapeXml(r.scenario)}</text>`,
        bar(r.near, y, "#2563eb"),
        ...(r.far === null ? [] : [bar(r.far, y + BAR_HEIGHT, "#93c5fd")]),
      ].join("\n  ");
    })
    .join("\n  ");
  const title = `p50 latency per scenario: ${labels.near} (dark), ${labels.far} (light)`;
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${WIDTH}" height="${height}" font-family="system-ui, sans-serif" font-size="12" role="img">
  <title>${escapeXml(title)}</title>
  <rect width="100%" height="100%" fill="#fff"/>
  <text x="${LABEL_WIDTH}" y="18" font-weight="bold">${escapeXml(title)}</text>
  ${bars}
</svg>
`;
}

function escapeXml(text: string): string {
  return text.replaceAll("&", "&amp;").replaceAll("<", "&lt;").replaceAll(">", "&gt;");
}
