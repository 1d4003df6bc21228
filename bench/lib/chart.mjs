// The bar chart of a run: req/s per scenario, as a standalone SVG written by hand (no dependency).
import { rpsText } from './format.mjs';

const KIND_COLOURS = {
  ceiling: '#6b7280',
  'bare-express': '#9ca3af',
  live: '#93c5fd',
  verify: '#1d4ed8',
  tutorial: '#ea580c',
  login: '#7c3aed',
};
const KIND_NAMES = {
  ceiling: 'node:http ceiling',
  'bare-express': 'bare Express 5',
  live: 'GET /health/live',
  verify: 'GET /api/auth/verify',
  tutorial: 'tutorial middleware',
  login: 'POST /api/auth/login',
};

const escapeXml = (text) =>
  String(text).replace(/[<>&"]/g, (char) => ({ '<': '&lt;', '>': '&gt;', '&': '&amp;', '"': '&quot;' })[char]);

/** A horizontal bar chart of req/s per scenario, as a standalone SVG document. */
export function barChartSvg(report) {
  const labelWidth = 330;
  const barArea = 470;
  const valueWidth = 90;
  const rowHeight = 26;
  const top = 58;
  const width = labelWidth + barArea + valueWidth + 20;
  const rows = report.scenarios;
  const legendTop = top + rows.length * rowHeight + 14;
  // Entries left to right, on a new line when the next would pass the right edge.
  const legend = [];
  let legendX = 16;
  let legendY = legendTop;
  for (const kind of Object.keys(KIND_COLOURS)) {
    const entryWidth = 30 + KIND_NAMES[kind].length * 7;
    if (legendX > 16 && legendX + entryWidth > width - 16) {
      legendX = 16;
      legendY += 20;
    }
    legend.push({ kind, x: legendX, y: legendY });
    legendX += entryWidth;
  }
  const height = legendY + 30;
  const largest = Math.max(...rows.map((row) => row.rps).filter(Number.isFinite), 1);
  const { machine, settings } = report;
  const subtitle =
    `${report.date.slice(0, 10)} · ${machine.cpuCount} × ${machine.cpuModel} · Node.js ${machine.node} · ` +
    `${settings.connections} connections (logins ${settings.loginConnections}) · median of ${settings.rounds} × ${settings.durationS} s`;

  const parts = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="system-ui, -apple-system, 'Segoe UI', Helvetica, Arial, sans-serif" font-size="13">`,
    `<rect width="100%" height="100%" fill="#ffffff"/>`,
    `<text x="16" y="26" font-size="16" font-weight="600" fill="#111827">Requests per second (higher is better)</text>`,
    `<text x="16" y="45" font-size="11.5" fill="#4b5563">${escapeXml(subtitle)}</text>`,
  ];
  rows.forEach((row, index) => {
    const y = top + index * rowHeight;
    const barWidth = Number.isFinite(row.rps) ? Math.max(1, (row.rps / largest) * barArea) : 0;
    if (index % 2 === 0)
      parts.push(`<rect x="8" y="${y - 2}" width="${width - 16}" height="${rowHeight}" fill="#f9fafb"/>`);
    parts.push(
      `<text x="${labelWidth - 10}" y="${y + 15}" text-anchor="end" fill="#111827">${escapeXml(row.label)}</text>`,
      `<rect x="${labelWidth}" y="${y + 2}" width="${barWidth.toFixed(1)}" height="${rowHeight - 8}" rx="2" fill="${KIND_COLOURS[row.kind]}"/>`,
      `<text x="${(labelWidth + barWidth + 6).toFixed(1)}" y="${y + 15}" fill="#111827" font-variant-numeric="tabular-nums">${rpsText(row.rps)}</text>`,
    );
  });
  for (const { kind, x, y } of legend) {
    parts.push(
      `<rect x="${x}" y="${y}" width="12" height="12" rx="2" fill="${KIND_COLOURS[kind]}"/>`,
      `<text x="${x + 17}" y="${y + 11}" font-size="12" fill="#374151">${escapeXml(KIND_NAMES[kind])}</text>`,
    );
  }
  parts.push('</svg>');
  return `${parts.join('\n')}\n`;
}
