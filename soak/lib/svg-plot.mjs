// A hand-written SVG of the run: throughput, and resident memory and event-loop delay of each instance
// over time, one panel each, on a shared time axis. Plain SVG 1.1 with no script or external reference,
// so that it renders the same on GitHub, in a browser and in an image viewer.

const WIDTH = 960;
const PANEL_HEIGHT = 230;
const MARGIN = { left: 70, right: 30, top: 106, bottom: 46 };
const PANEL_GAP = 92;
const SUBTITLE_LINE = 16;
/** Rough width of a character of the 11 px legend text, to lay the legend out in one row. */
const LEGEND_CHAR_WIDTH = 6.2;
const COLORS = ['#1f6fb4', '#e8740c', '#2a9d3f', '#b8336a'];
const FONT = 'font-family="Helvetica, Arial, sans-serif"';

const escapeXml = (text) =>
  String(text).replace(/[&<>"]/g, (char) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;' })[char]);

/** Round tick steps (1, 2, 2.5, 5 times a power of ten) giving about `count` ticks up to `max`. */
function ticks(max, count = 5) {
  if (!(max > 0)) return { top: 1, values: [0, 1] };
  const raw = max / count;
  const power = 10 ** Math.floor(Math.log10(raw));
  const step = [1, 2, 2.5, 5, 10].map((factor) => factor * power).find((candidate) => candidate >= raw);
  const top = Math.ceil(max / step) * step;
  const values = [];
  for (let value = 0; value <= top + step / 2; value += step) values.push(Number(value.toPrecision(12)));
  return { top, values };
}

const formatTick = (value) => (Number.isInteger(value) ? String(value) : value.toFixed(1));

/** Steps a clock reader expects: seconds up to half a minute, then whole minutes. */
const TIME_STEPS_S = [1, 2, 5, 10, 15, 20, 30, 60, 120, 300, 600, 900, 1800, 3600];

function timeTicks(timeMax, count = 8) {
  const step = TIME_STEPS_S.find((candidate) => candidate >= timeMax / count) ?? TIME_STEPS_S.at(-1);
  return Array.from({ length: Math.floor(timeMax / step) + 1 }, (_, index) => index * step);
}

function formatTime(seconds) {
  if (seconds < 60 || seconds % 60 !== 0) return `${seconds}s`;
  return `${seconds / 60}m`;
}

/**
 * One panel. `series`: `{ label, color, dashed, points: [[seconds, value], ...] }`; `markers`:
 * vertical lines `{ at, label, after }` on the time axis (`after`: the label to the right of the line).
 */
function panel({ top, title, unit, series, timeMax, markers }) {
  const plotWidth = WIDTH - MARGIN.left - MARGIN.right;
  const valueMax = Math.max(0, ...series.flatMap(({ points }) => points.map(([, value]) => value)));
  const yTicks = ticks(valueMax * 1.05);
  // The time axis ends where the data ends; its ticks are round times up to there.
  const xValues = timeTicks(timeMax);
  const x = (seconds) => MARGIN.left + (seconds / timeMax) * plotWidth;
  const y = (value) => top + PANEL_HEIGHT - (value / yTicks.top) * PANEL_HEIGHT;
  const parts = [];

  parts.push(
    `<text x="${MARGIN.left}" y="${top - 30}" ${FONT} font-size="14" font-weight="bold">${escapeXml(title)}</text>`,
  );
  for (const value of yTicks.values) {
    parts.push(
      `<line x1="${MARGIN.left}" x2="${MARGIN.left + plotWidth}" y1="${y(value).toFixed(1)}" y2="${y(value).toFixed(1)}" stroke="#e3e3e3"/>`,
      `<text x="${MARGIN.left - 8}" y="${(y(value) + 4).toFixed(1)}" ${FONT} font-size="11" text-anchor="end" fill="#444">${formatTick(value)}</text>`,
    );
  }
  for (const value of xValues) {
    parts.push(
      `<line x1="${x(value).toFixed(1)}" x2="${x(value).toFixed(1)}" y1="${top + PANEL_HEIGHT}" y2="${top + PANEL_HEIGHT + 5}" stroke="#444"/>`,
      `<text x="${x(value).toFixed(1)}" y="${top + PANEL_HEIGHT + 18}" ${FONT} font-size="11" text-anchor="middle" fill="#444">${formatTime(value)}</text>`,
    );
  }
  for (const marker of markers) {
    const at = x(marker.at).toFixed(1);
    parts.push(
      `<line x1="${at}" x2="${at}" y1="${top}" y2="${top + PANEL_HEIGHT}" stroke="#888" stroke-dasharray="3 3"/>`,
      // Left of the line by default (the label names what ends there), right of it for a start.
      `<text x="${(Number(at) + (marker.after ? 4 : -4)).toFixed(1)}" y="${top + 12}" ${FONT} font-size="10" text-anchor="${marker.after ? 'start' : 'end'}" fill="#666">${escapeXml(marker.label)}</text>`,
    );
  }
  parts.push(
    `<rect x="${MARGIN.left}" y="${top}" width="${plotWidth}" height="${PANEL_HEIGHT}" fill="none" stroke="#444"/>`,
    `<text transform="translate(${MARGIN.left - 48},${top + PANEL_HEIGHT / 2}) rotate(-90)" ${FONT} font-size="12" text-anchor="middle" fill="#222">${escapeXml(unit)}</text>`,
  );
  for (const line of series) {
    if (line.points.length === 0) continue;
    const points = line.points.map(([seconds, value]) => `${x(seconds).toFixed(1)},${y(value).toFixed(1)}`).join(' ');
    const dash = line.dashed ? ' stroke-dasharray="6 4"' : '';
    parts.push(
      `<polyline points="${points}" fill="none" stroke="${line.color}" stroke-width="${line.dashed ? 1.2 : 1.6}"${dash} stroke-linejoin="round"/>`,
    );
  }
  // Legend: one row between the title and the panel, so that it never hides a line.
  let legendX = MARGIN.left;
  for (const line of series) {
    const legendY = top - 10;
    const dash = line.dashed ? ' stroke-dasharray="6 4"' : '';
    parts.push(
      `<line x1="${legendX}" x2="${legendX + 24}" y1="${legendY - 4}" y2="${legendY - 4}" stroke="${line.color}" stroke-width="2"${dash}/>`,
      `<text x="${legendX + 30}" y="${legendY}" ${FONT} font-size="11" fill="#222">${escapeXml(line.label)}</text>`,
    );
    legendX += 30 + line.label.length * LEGEND_CHAR_WIDTH + 18;
  }
  return parts.join('\n');
}

/**
 * `instances`: `[{ name, adapter, rss: [[s, MB]], heap: [[s, MB]], eventLoopP99: [[s, ms]] }]`;
 * `throughput`: `[[s, req/s]]`, drawn against `targetRequestsPerSecond`; `memoryWindows`: the two
 * minutes whose medians give the memory growth (`baselineWindowS`, `endWindowS`), marked on the memory
 * panel; `loadSeconds`: when the load stopped (the drain follows); `title`, `subtitle` (one or more
 * lines): the run in words.
 */
export function renderSoakPlot({
  instances,
  throughput = [],
  throughputLabel = 'requests',
  targetRequestsPerSecond,
  memoryWindows,
  loadSeconds,
  title,
  subtitle,
}) {
  const timeMax = Math.max(
    loadSeconds,
    ...instances.flatMap((instance) => [...instance.rss, ...instance.eventLoopP99].map(([seconds]) => seconds)),
  );
  const loadStops = { at: loadSeconds, label: 'load stops' };
  const memoryMarkers = [loadStops];
  if (memoryWindows) {
    const [baselineFrom, baselineTo] = memoryWindows.baselineWindowS;
    memoryMarkers.push(
      { at: baselineFrom, label: 'baseline', after: true },
      { at: baselineTo, label: '' },
      { at: memoryWindows.endWindowS[0], label: 'end', after: true },
    );
  }
  const label = (instance) => `${instance.name} (${instance.adapter})`;
  const subtitles = [subtitle].flat();
  const firstTop = MARGIN.top + (subtitles.length - 1) * SUBTITLE_LINE;
  const tops = [0, 1, 2].map((index) => firstTop + index * (PANEL_HEIGHT + PANEL_GAP));
  const height = tops[2] + PANEL_HEIGHT + MARGIN.bottom;

  const throughputPanel = panel({
    top: tops[0],
    title: 'Requests per second, both instances together',
    unit: 'req/s',
    timeMax,
    markers: [loadStops],
    series: [
      { label: throughputLabel, color: COLORS[2], points: throughput },
      ...(targetRequestsPerSecond
        ? [
            {
              label: `pass threshold, ${targetRequestsPerSecond} req/s`,
              color: '#888',
              dashed: true,
              points: [
                [0, targetRequestsPerSecond],
                [loadSeconds, targetRequestsPerSecond],
              ],
            },
          ]
        : []),
    ],
  });
  const memory = panel({
    top: tops[1],
    title: 'Resident memory (VmRSS) and V8 heap used (dashed); growth: median of "end" vs "baseline" window',
    unit: 'MB',
    timeMax,
    markers: memoryMarkers,
    series: instances.flatMap((instance, index) => [
      { label: `${label(instance)} RSS`, color: COLORS[index % COLORS.length], points: instance.rss },
      {
        label: `${label(instance)} heap used`,
        color: COLORS[index % COLORS.length],
        dashed: true,
        points: instance.heap,
      },
    ]),
  });
  const delay = panel({
    top: tops[2],
    title: 'Event-loop delay, p99 of each second (beyond the 10 ms sampling interval)',
    unit: 'ms',
    timeMax,
    markers: [loadStops],
    series: instances.map((instance, index) => ({
      label: `${label(instance)} p99`,
      color: COLORS[index % COLORS.length],
      points: instance.eventLoopP99,
    })),
  });

  return [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${WIDTH}" height="${height}" viewBox="0 0 ${WIDTH} ${height}">`,
    `<rect width="${WIDTH}" height="${height}" fill="#fff"/>`,
    `<text x="${MARGIN.left}" y="26" ${FONT} font-size="16" font-weight="bold">${escapeXml(title)}</text>`,
    ...subtitles.map(
      (line, index) =>
        `<text x="${MARGIN.left}" y="${46 + index * SUBTITLE_LINE}" ${FONT} font-size="12" fill="#444">${escapeXml(line)}</text>`,
    ),
    throughputPanel,
    memory,
    delay,
    `<text x="${WIDTH / 2}" y="${height - 10}" ${FONT} font-size="12" text-anchor="middle" fill="#222">time since the load started</text>`,
    '</svg>',
    '',
  ].join('\n');
}
