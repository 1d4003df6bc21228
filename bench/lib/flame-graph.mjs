// Flame graphs and summaries of a V8 .cpuprofile (what `node --cpu-prof` writes). The SVG is static, with
// no script: it is committed next to the figures it explains, and GitHub strips scripts from SVGs anyway.
// Samples are counted from `samples` rather than from `hitCount`, so that a profile cut down to a time
// window (profileWindow) is drawn and summarised from that window only.

const IDLE = '(idle)';
const FRAME_HEIGHT = 17;
const FONT_SIZE = 11;
// Monospace glyphs are about 0.6 em wide: enough to decide what fits without measuring text.
const CHAR_WIDTH = FONT_SIZE * 0.6;
const MIN_FRACTION = 0.001;
const PADDING = 10;
const LEGEND_PACKAGES = 8;
// V8's name for samples with no JavaScript on the stack: libuv, the HTTP parser, other C++.
const PROGRAM_GROUP = '(program): native, no JS stack';

/** The profile restricted to the samples taken between fromUs and toUs (the profile's own clock, in µs). */
export function profileWindow(profile, fromUs, toUs) {
  const samples = [];
  const timeDeltas = [];
  let time = profile.startTime;
  let previous = fromUs;
  profile.samples.forEach((id, index) => {
    time += profile.timeDeltas[index];
    if (time < fromUs || time > toUs) return;
    samples.push(id);
    timeDeltas.push(time - previous);
    previous = time;
  });
  return { ...profile, startTime: fromUs, endTime: toUs, samples, timeDeltas };
}

/** Which code a frame belongs to: `group` is what topByPackage adds up, `file` what a tooltip shows. */
export function frameOrigin({ functionName, url }) {
  if (functionName === '(garbage collector)') return { kind: 'gc', group: 'gc' };
  if (functionName === '(program)') return { kind: 'program', group: PROGRAM_GROUP };
  if (functionName === IDLE) return { kind: 'idle', group: 'idle' };
  if (functionName === '(root)') return { kind: 'root', group: 'root' };
  const modules = url.lastIndexOf('/node_modules/');
  if (modules >= 0) {
    const parts = url.slice(modules + '/node_modules/'.length).split('/');
    const length = parts[0].startsWith('@') ? 2 : 1;
    return { kind: 'package', group: parts.slice(0, length).join('/'), file: parts.slice(length).join('/') };
  }
  if (url.includes('/dist/')) return { kind: 'app', group: 'app', file: url.slice(url.lastIndexOf('/dist/') + 1) };
  // An empty url is V8's or Node's C++ (builtins, bindings): internals as much as node: modules are.
  if (url === '' || url.startsWith('node:')) return { kind: 'node', group: 'node internals', file: url || 'native' };
  return { kind: 'other', group: 'other', file: url.replace(/^file:\/\//, '') };
}

function frameLabel(frame, origin = frameOrigin(frame)) {
  const name = frame.functionName || '(anonymous)';
  return origin.kind === 'package' ? `${origin.group}: ${name}` : name;
}

function frameWhere(frame, origin = frameOrigin(frame)) {
  if (!origin.file) return '';
  return frame.lineNumber >= 0 ? `${origin.file}:${frame.lineNumber + 1}` : origin.file;
}

const frameKey = ({ functionName, url, lineNumber, columnNumber }) =>
  `${functionName}\0${url}\0${lineNumber}\0${columnNumber}`;

function selfCounts(profile) {
  const counts = new Map();
  if (Array.isArray(profile.samples)) {
    for (const id of profile.samples) counts.set(id, (counts.get(id) ?? 0) + 1);
  } else {
    for (const node of profile.nodes) counts.set(node.id, node.hitCount ?? 0);
  }
  return counts;
}

/** Sample counts per node, the (idle) ones apart: an idle event loop is not a cost of any code. */
function countSamples(profile) {
  const counts = selfCounts(profile);
  let total = 0;
  let idle = 0;
  for (const node of profile.nodes) {
    const count = counts.get(node.id) ?? 0;
    if (node.callFrame.functionName === IDLE) idle += count;
    else total += count;
  }
  return { counts, total, idle };
}

/** The call tree with identical stacks merged (V8 may keep several nodes for one frame under one parent). */
function mergedTree(profile, counts) {
  const byId = new Map(profile.nodes.map((node) => [node.id, node]));
  const children = new Set(profile.nodes.flatMap((node) => node.children ?? []));
  const rootNode = profile.nodes.find((node) => !children.has(node.id));
  const root = { frame: rootNode.callFrame, self: 0, total: 0, children: new Map() };
  const pending = [[rootNode, root]];
  while (pending.length > 0) {
    const [node, merged] = pending.pop();
    merged.self += counts.get(node.id) ?? 0;
    for (const childId of node.children ?? []) {
      const child = byId.get(childId);
      if (child.callFrame.functionName === IDLE) continue;
      const key = frameKey(child.callFrame);
      if (!merged.children.has(key)) {
        merged.children.set(key, { frame: child.callFrame, self: 0, total: 0, children: new Map() });
      }
      pending.push([child, merged.children.get(key)]);
    }
  }
  const sum = (merged) => {
    merged.total = merged.self;
    for (const child of merged.children.values()) merged.total += sum(child);
    return merged.total;
  };
  sum(root);
  return root;
}

/** Self samples added up by `keyOf(callFrame)`, (idle) left out, most first. */
function selfBy(profile, keyOf) {
  const { counts, total } = countSamples(profile);
  const byKey = new Map();
  for (const node of profile.nodes) {
    const count = counts.get(node.id) ?? 0;
    if (count === 0 || node.callFrame.functionName === IDLE) continue;
    const key = keyOf(node.callFrame);
    const entry = byKey.get(key) ?? { frame: node.callFrame, samples: 0 };
    entry.samples += count;
    byKey.set(key, entry);
  }
  return [...byKey.values()]
    .map((entry) => ({ ...entry, percent: (100 * entry.samples) / total }))
    .sort((a, b) => b.samples - a.samples);
}

/** Self samples per function (wherever it was called from), most first: [{ name, where, group, samples, percent }]. */
export function topSelf(profile, n = 15) {
  return selfBy(profile, frameKey)
    .slice(0, n)
    .map(({ frame, samples, percent }) => {
      const group = frameOrigin(frame).group;
      return { name: frameLabel(frame), where: frameWhere(frame), group, samples, percent };
    });
}

/**
 * Self samples per npm package, 'app', 'node internals', 'gc' and (program), most first:
 * [{ group, kind, samples, percent }].
 */
export function topByPackage(profile) {
  return selfBy(profile, (frame) => frameOrigin(frame).group).map(({ frame, samples, percent }) => {
    const { group, kind } = frameOrigin(frame);
    return { group, kind, samples, percent };
  });
}

/** Sample counts and the wall time they cover, (idle) apart. */
export function profileStats(profile) {
  const { total, idle } = countSamples(profile);
  return { samples: total, idle, seconds: (profile.endTime - profile.startTime) / 1e6 };
}

function hash(text) {
  let value = 0;
  for (let index = 0; index < text.length; index++) value = (value * 31 + text.charCodeAt(index)) >>> 0;
  return value;
}

// Distinct hues for the packages that cost most, clear of the app's orange and the GC's red.
const PACKAGE_HUES = [150, 210, 270, 95, 185, 240, 310, 125];

/** Colour by origin (packages by rank of self time); a little lightness jitter keeps neighbours apart. */
function colourer(groups) {
  const ranked = groups.filter(({ kind }) => kind === 'package').map(({ group }) => group);
  return (origin, name) => {
    const jitter = (hash(name) % 9) - 4;
    const rank = ranked.indexOf(origin.group);
    switch (origin.kind) {
      case 'app':
        return `hsl(${28 + (hash(name) % 14)}, 88%, ${62 + jitter}%)`;
      case 'package':
        return `hsl(${PACKAGE_HUES[rank] ?? 90 + (hash(origin.group) % 170)}, 50%, ${68 + jitter}%)`;
      case 'node':
        return `hsl(215, 12%, ${76 + jitter}%)`;
      case 'gc':
        return 'hsl(0, 78%, 60%)';
      case 'program':
        return 'hsl(0, 0%, 58%)';
      default:
        return 'hsl(0, 0%, 86%)';
    }
  };
}

const XML_ESCAPES = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' };
const escapeXml = (text) => String(text).replace(/[&<>"']/g, (char) => XML_ESCAPES[char]);

function fitLabel(label, width) {
  const chars = Math.floor((width - 6) / CHAR_WIDTH);
  if (chars < 3) return '';
  return label.length <= chars ? label : `${label.slice(0, chars - 1)}…`;
}

/** Frames with their place: x in samples, depth from the root. Narrow siblings are merged into one frame. */
function layout(root, minSamples) {
  const frames = [];
  const pending = [{ node: root, x: 0, depth: 0 }];
  while (pending.length > 0) {
    const { node, x, depth } = pending.pop();
    frames.push({ node, x, depth });
    let childX = x;
    const narrow = { count: 0, total: 0 };
    const kids = [...node.children.values()].sort((a, b) => b.total - a.total);
    for (const kid of kids) {
      if (kid.total < minSamples) {
        narrow.count += 1;
        narrow.total += kid.total;
        continue;
      }
      pending.push({ node: kid, x: childX, depth: depth + 1 });
      childX += kid.total;
    }
    if (narrow.count > 0 && narrow.total >= minSamples) {
      const frame = { functionName: `${narrow.count} narrow frames`, url: '', lineNumber: -1, merged: true };
      frames.push({ node: { frame, total: narrow.total }, x: childX, depth: depth + 1 });
    }
  }
  return frames;
}

/** The fixed origins, then the packages that cost most; each with its share of the self samples. */
function legendItems(groups, colour) {
  const percentOf = (group) => groups.find((entry) => entry.group === group)?.percent ?? 0;
  const fixed = [
    ['app (dist/)', 'app', 'app'],
    ['node internals', 'node', 'node internals'],
    ['gc', 'gc', 'gc'],
    ['(program)', 'program', PROGRAM_GROUP],
  ].map(([text, kind, group]) => ({ text, fill: colour({ kind }, ''), percent: percentOf(group) }));
  const packages = groups.filter(({ kind }) => kind === 'package').slice(0, LEGEND_PACKAGES);
  return fixed.concat(
    packages.map(({ group, percent }) => ({ text: group, fill: colour({ kind: 'package', group }, group), percent })),
  );
}

/**
 * The profile as a flame graph, root at the bottom: each frame is as wide as the samples taken in it and
 * in what it called. `title` and `subtitle` head it; a second line says what was left out.
 */
export function cpuProfileToSvg(profile, { title = 'CPU profile', subtitle = '', width = 1200 } = {}) {
  const { counts, total, idle } = countSamples(profile);
  const root = mergedTree(profile, counts);
  const minSamples = Math.max(1, Math.ceil(total * MIN_FRACTION));
  const frames = layout(root, minSamples);
  const maxDepth = Math.max(...frames.map((frame) => frame.depth));
  const chartWidth = width - 2 * PADDING;
  const scale = total > 0 ? chartWidth / total : 0;
  const groups = topByPackage(profile);
  const colour = colourer(groups);

  // Header: title, subtitle, note, then the legend, wrapped to the width.
  const note =
    `${total.toLocaleString('en-US')} samples; (idle) excluded from the total ` +
    `(${idle.toLocaleString('en-US')} samples); frames under ${MIN_FRACTION * 100} % merged. ` +
    'Self samples by origin in the legend.';
  const legend = [];
  let legendX = PADDING;
  let legendY = 78;
  for (const item of legendItems(groups, colour)) {
    const text = `${item.text} ${item.percent.toFixed(1)} %`;
    const itemWidth = Math.round(18 + text.length * CHAR_WIDTH + 16);
    if (legendX + itemWidth > width - PADDING) {
      legendX = PADDING;
      legendY += 18;
    }
    legend.push(
      `<rect x="${legendX}" y="${legendY - 10}" width="12" height="12" fill="${item.fill}"/>` +
        `<text x="${legendX + 16}" y="${legendY}">${escapeXml(text)}</text>`,
    );
    legendX += itemWidth;
  }
  const top = legendY + 16;
  const height = top + (maxDepth + 1) * FRAME_HEIGHT + PADDING;

  const rects = frames.map(({ node, x, depth }) => {
    const { frame } = node;
    const origin = frame.merged ? { kind: 'other', group: 'other' } : frameOrigin(frame);
    const label = origin.kind === 'root' ? 'all' : frameLabel(frame, origin);
    const where = frame.merged ? '' : frameWhere(frame, origin);
    const percent = total > 0 ? ((100 * node.total) / total).toFixed(1) : '0.0';
    const tooltip = `${label}${where ? ` (${where})` : ''} — ${node.total.toLocaleString('en-US')} samples, ${percent} %`;
    const rectX = PADDING + x * scale;
    const rectWidth = node.total * scale;
    const y = top + (maxDepth - depth) * FRAME_HEIGHT;
    const text = fitLabel(label, rectWidth);
    return (
      `<g><title>${escapeXml(tooltip)}</title>` +
      `<rect x="${rectX.toFixed(2)}" y="${y}" width="${Math.max(0.5, rectWidth - 0.5).toFixed(2)}" ` +
      `height="${FRAME_HEIGHT - 1}" fill="${colour(origin, label)}"/>` +
      (text ? `<text x="${(rectX + 3).toFixed(2)}" y="${y + 12}">${escapeXml(text)}</text>` : '') +
      '</g>'
    );
  });

  return [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}">`,
    `<style>text { font-family: ui-monospace, SFMono-Regular, Menlo, Consolas, monospace; font-size: ${FONT_SIZE}px; fill: #1a1a1a; }` +
      ' .title { font-size: 17px; font-weight: bold; } .subtitle { font-size: 12px; fill: #444; }</style>',
    `<rect width="100%" height="100%" fill="#fdfdfd"/>`,
    `<text class="title" x="${PADDING}" y="24">${escapeXml(title)}</text>`,
    `<text class="subtitle" x="${PADDING}" y="42">${escapeXml(subtitle)}</text>`,
    `<text class="subtitle" x="${PADDING}" y="58">${escapeXml(note)}</text>`,
    ...legend,
    ...rects,
    '</svg>',
    '',
  ].join('\n');
}
