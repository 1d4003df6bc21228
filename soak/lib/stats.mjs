// Counting and summarising: a compact latency histogram, the per-kind request tallies and the record of
// every answer that was not what the contract says.

/** Buckets grow by 2.5 % each, so percentiles are exact to 2.5 % in a few hundred counters per kind. */
const BUCKETS_PER_E = 40;
const MAX_BUCKET = Math.ceil(Math.log1p(120_000_000) * BUCKETS_PER_E); // 120 s, in microseconds

export class LatencyHistogram {
  counts = new Uint32Array(MAX_BUCKET + 1);
  count = 0;
  maxMs = 0;

  record(ms) {
    const micros = Math.max(0, ms * 1000);
    const bucket = Math.min(MAX_BUCKET, Math.round(Math.log1p(micros) * BUCKETS_PER_E));
    this.counts[bucket] += 1;
    this.count += 1;
    if (ms > this.maxMs) this.maxMs = ms;
  }

  /** The latency (ms) below which `p` percent of the requests fell. */
  percentile(p) {
    if (this.count === 0) return null;
    const rank = Math.ceil((p / 100) * this.count);
    let seen = 0;
    for (let bucket = 0; bucket <= MAX_BUCKET; bucket++) {
      seen += this.counts[bucket];
      if (seen >= rank) return Math.min(this.maxMs, Math.expm1(bucket / BUCKETS_PER_E) / 1000);
    }
    return this.maxMs;
  }
}

export const FAILURE_CLASSES = ['serverError', 'wronglyAccepted', 'unexpected'];

/**
 * Latency per time window for a few kinds, to tell a service that slows down as its data grows (a
 * steady climb) from one that is only disturbed now and then (spikes).
 */
export const WINDOW_SECONDS = 30;
export const WINDOWED_KINDS = ['verify', 'me', 'sessions', 'refresh', 'login', 'change-password'];

/**
 * Every judged answer goes through here. Failures fall in exactly one class:
 * - serverError: any 5xx;
 * - wronglyAccepted: a 2xx for a token that had been logged out, revoked or superseded (the one
 *   outcome this service exists to prevent);
 * - unexpected: anything else the contract does not allow (a wrong status, a missing header, a live
 *   token refused, a connection error).
 */
export class Recorder {
  constructor({ examplesKept = 20, startedAt }) {
    this.examplesKept = examplesKept;
    this.startedAt = startedAt;
    this.kinds = new Map();
    this.requestsPerSecond = [];
    this.windows = [];
    this.failures = Object.fromEntries(FAILURE_CLASSES.map((name) => [name, 0]));
    this.examples = Object.fromEntries(FAILURE_CLASSES.map((name) => [name, []]));
    this.total = 0;
    // Lifecycles, by ending, that had failures of each class: one race gone wrong can fail several
    // answers, and this says how many sessions it was.
    this.lifecycles = { completed: 0, abandoned: 0, endings: {}, withFailures: {} };
  }

  request(kind, response) {
    let entry = this.kinds.get(kind);
    if (!entry) {
      entry = { requests: 0, statuses: {}, latency: new LatencyHistogram() };
      this.kinds.set(kind, entry);
    }
    entry.requests += 1;
    const status = response.status ?? `error:${response.error}`;
    entry.statuses[status] = (entry.statuses[status] ?? 0) + 1;
    entry.latency.record(response.ms);
    this.total += 1;
    const second = Math.floor((Date.now() - this.startedAt) / 1000);
    this.requestsPerSecond[second] = (this.requestsPerSecond[second] ?? 0) + 1;
    const window = (this.windows[Math.floor(second / WINDOW_SECONDS)] ??= { requests: 0, latency: {} });
    window.requests += 1;
    if (WINDOWED_KINDS.includes(kind)) (window.latency[kind] ??= new LatencyHistogram()).record(response.ms);
  }

  /** Up to `untilSecond` (the end of the load): the drain's few requests would skew a last window. */
  windowSummary(untilSecond) {
    return Array.from(this.windows, (window, index) => {
      const fromSecond = index * WINDOW_SECONDS;
      const seconds = Math.min(WINDOW_SECONDS, untilSecond - fromSecond);
      if (!window || seconds <= 0) return null;
      const latencyMs = Object.fromEntries(
        WINDOWED_KINDS.filter((kind) => window.latency[kind]).map((kind) => [
          kind,
          { p50: round(window.latency[kind].percentile(50)), p99: round(window.latency[kind].percentile(99)) },
        ]),
      );
      return { fromSecond, requestsPerSecond: round(window.requests / seconds, 1), latencyMs };
    }).filter(Boolean);
  }

  failure(failureClass, detail) {
    this.failures[failureClass] += 1;
    const examples = this.examples[failureClass];
    if (examples.length < this.examplesKept) {
      examples.push({ atSecond: Math.round((Date.now() - this.startedAt) / 100) / 10, ...detail });
    }
  }

  failureCount() {
    return FAILURE_CLASSES.reduce((sum, name) => sum + this.failures[name], 0);
  }

  lifecycleEnded(ending, completed, failureClasses) {
    for (const failureClass of failureClasses) {
      const byClass = (this.lifecycles.withFailures[ending] ??= {});
      byClass[failureClass] = (byClass[failureClass] ?? 0) + 1;
    }
    if (completed) {
      this.lifecycles.completed += 1;
      this.lifecycles.endings[ending] = (this.lifecycles.endings[ending] ?? 0) + 1;
    } else {
      this.lifecycles.abandoned += 1;
    }
  }

  kindSummary() {
    return Object.fromEntries(
      [...this.kinds.entries()]
        .sort(([a], [b]) => a.localeCompare(b))
        .map(([kind, entry]) => [
          kind,
          {
            requests: entry.requests,
            statuses: entry.statuses,
            latencyMs: {
              p50: round(entry.latency.percentile(50)),
              p99: round(entry.latency.percentile(99)),
              max: round(entry.latency.maxMs),
            },
          },
        ]),
    );
  }
}

export function round(value, digits = 2) {
  if (value === null || value === undefined || Number.isNaN(value)) return null;
  const factor = 10 ** digits;
  return Math.round(value * factor) / factor;
}

export function median(values) {
  if (values.length === 0) return null;
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[middle] : (sorted[middle - 1] + sorted[middle]) / 2;
}

/** Least-squares slope of y over x: a steady leak shows as a positive slope long after warm-up. */
export function slope(points) {
  if (points.length < 2) return null;
  const n = points.length;
  const meanX = points.reduce((sum, [x]) => sum + x, 0) / n;
  const meanY = points.reduce((sum, [, y]) => sum + y, 0) / n;
  let numerator = 0;
  let denominator = 0;
  for (const [x, y] of points) {
    numerator += (x - meanX) * (y - meanY);
    denominator += (x - meanX) ** 2;
  }
  return denominator === 0 ? null : numerator / denominator;
}
