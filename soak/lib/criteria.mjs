// What a run must show to pass, and how memory growth is measured.
import { median, round } from './stats.mjs';

export const MIN_REQUESTS_PER_SECOND = 500;
export const MAX_RSS_GROWTH_PERCENT = 10;
/** Start-up, JIT, connection pools and caches fill the first minute: growth is measured after it. */
export const WARM_UP_S = 60;
/** Medians over a minute: GC makes single readings swing by tens of MB. */
export const MEMORY_WINDOW_S = 60;
/** The warm-up, the baseline minute and an end minute that does not overlap it. */
export const MIN_JUDGED_LOAD_S = WARM_UP_S + 2 * MEMORY_WINDOW_S;

/**
 * Growth of a `[[seconds, MB]]` series: the median of its last minute of load against the median of the
 * minute after the warm-up. A run shorter than MIN_JUDGED_LOAD_S gets the same measure over thirds of
 * the load (warm-up, baseline, end), reported but not judged: it cannot tell warm-up from growth.
 */
export function memoryGrowth(points, loadSeconds) {
  const judged = loadSeconds >= MIN_JUDGED_LOAD_S;
  const span = judged ? MEMORY_WINDOW_S : loadSeconds / 3;
  const baselineFrom = judged ? WARM_UP_S : span;
  const within = (from, to) => points.filter(([at]) => at >= from && at < to).map(([, value]) => value);
  const baselineMB = median(within(baselineFrom, baselineFrom + span));
  const endMB = median(within(loadSeconds - span, loadSeconds + 0.001));
  const growthPercent = baselineMB > 0 && endMB !== null ? round((endMB / baselineMB - 1) * 100, 1) : null;
  return {
    judged,
    baselineWindowS: [round(baselineFrom, 1), round(baselineFrom + span, 1)],
    endWindowS: [round(loadSeconds - span, 1), round(loadSeconds, 1)],
    baselineMB: round(baselineMB, 1),
    endMB: round(endMB, 1),
    growthPercent,
  };
}

/**
 * Every criterion of the run, `{ name, passed, detail }`; `passed: null` for one that was measured but
 * not judged (memory growth in a short run).
 */
export function judgeRun({ failures, totals, instances, interruption, workloadError }) {
  const count = (name, value) => ({ name, passed: value === 0, detail: `${value}` });
  const criteria = [
    count('revoked or superseded tokens accepted', failures.wronglyAccepted),
    count('5xx answers', failures.serverError),
    count('other contract violations', failures.unexpected),
    {
      name: `throughput during the load >= ${MIN_REQUESTS_PER_SECOND} req/s`,
      passed: totals.loadRequestsPerSecond >= MIN_REQUESTS_PER_SECOND,
      detail: `${totals.loadRequestsPerSecond} req/s`,
    },
  ];
  for (const instance of instances) {
    const growth = instance.rssGrowth;
    const [from, to] = growth.baselineWindowS;
    const [endFrom, endTo] = growth.endWindowS;
    const figures =
      `${signed(growth.growthPercent)} % (median ${growth.baselineMB} MB over ${from}-${to} s, ` +
      `${growth.endMB} MB over ${endFrom}-${endTo} s)`;
    criteria.push({
      name: `RSS growth of instance ${instance.name} < ${MAX_RSS_GROWTH_PERCENT} %`,
      passed: growth.judged ? growth.growthPercent !== null && growth.growthPercent < MAX_RSS_GROWTH_PERCENT : null,
      detail: growth.judged ? figures : `${figures}; not judged, the load lasted under ${MIN_JUDGED_LOAD_S} s`,
    });
  }
  if (interruption) criteria.push({ name: 'ran to its end', passed: false, detail: interruption });
  if (workloadError) criteria.push({ name: 'the soak itself', passed: false, detail: String(workloadError) });
  return criteria;
}

export const signed = (value) => (value === null || value === undefined ? '-' : `${value >= 0 ? '+' : ''}${value}`);
