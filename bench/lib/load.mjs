// Load generators. Both record every response time themselves, in fractional milliseconds: autocannon's
// own histogram keeps whole milliseconds, too coarse for a 1 ms p99 and for ratios between p99s.
import autocannon from 'autocannon';
import { Agent, request } from 'node:http';

/** Growable list of response times; sorted once when the percentiles are asked for. */
export class Latencies {
  #values = new Float64Array(1 << 16);
  #count = 0;

  add(ms) {
    if (this.#count === this.#values.length) {
      const grown = new Float64Array(this.#values.length * 2);
      grown.set(this.#values);
      this.#values = grown;
    }
    this.#values[this.#count++] = ms;
  }

  summary() {
    const sorted = this.#values.slice(0, this.#count).sort();
    const at = (fraction) => (sorted.length ? sorted[Math.max(0, Math.ceil(fraction * sorted.length) - 1)] : NaN);
    return { p50: at(0.5), p90: at(0.9), p99: at(0.99), max: at(1) };
  }
}

/**
 * Closed loop: `connections` clients, each sending its next request as soon as the previous one is
 * answered, for `durationS` seconds or `amount` requests. Rejects if any answer is not 2xx (or not what
 * `accept` allows, for a load that is refused on purpose), so a figure is never the speed of refusals. `maxSeconds` bounds a run by amount: it then ends early with
 * `stoppedEarly: true`, or rejects unless `allowPartial`.
 */
export function runClosedLoop({
  url,
  method = 'GET',
  headers,
  body,
  connections,
  durationS,
  amount,
  maxSeconds,
  allowPartial = false,
  accept,
}) {
  const latencies = new Latencies();
  const statuses = new Map();
  return new Promise((resolveRun, reject) => {
    const started = performance.now();
    const options = { url, method, headers, body, connections, pipelining: 1, timeout: 10 };
    if (amount) options.amount = amount;
    else options.duration = durationS;
    const instance = autocannon(options, (error, result) => {
      clearTimeout(guard);
      if (error) return reject(error);
      const seconds = (performance.now() - started) / 1000;
      const refused = accept
        ? [...statuses].reduce((sum, [status, count]) => sum + (accept(status) ? 0 : count), 0)
        : result.non2xx;
      const failed = refused + result.errors + result.timeouts;
      if (failed > 0) {
        const seen = [...statuses].map(([status, count]) => `${status}: ${count}`).join(', ');
        return reject(new Error(`${method} ${url}: ${failed} failed requests (${seen}; ${result.errors} errors)`));
      }
      const stoppedEarly = Boolean(amount) && result.requests.total < amount;
      if (stoppedEarly && !allowPartial) {
        return reject(new Error(`${method} ${url}: stopped after ${maxSeconds} s, ${result.requests.total} done`));
      }
      resolveRun({
        stoppedEarly,
        statuses: Object.fromEntries(statuses),
        requests: result.requests.total,
        seconds,
        rps: result.requests.total / seconds,
        ...latencies.summary(),
      });
    });
    instance.on('response', (_client, status, _bytes, ms) => {
      latencies.add(ms);
      statuses.set(status, (statuses.get(status) ?? 0) + 1);
    });
    const guard = maxSeconds ? setTimeout(() => instance.stop(), maxSeconds * 1000) : undefined;
  });
}

/**
 * Open loop: requests sent at a steady `rate` per second whatever the server's pace, each timed from the
 * moment it is handed to the HTTP client (so time waiting for a free connection counts). This is how a
 * latency is measured "under a given load": a closed loop at full speed would only measure the queue it
 * builds itself. autocannon's own rate option sends each second's quota in one burst, hence this.
 * `requestFor(i)`, when given, returns the i-th request's `{ headers, body }` (e.g. one user and client
 * address after another); `method` defaults to GET.
 */
export function runOpenLoop({ url, headers, rate, durationS, maxConnections = 64, method = 'GET', requestFor }) {
  const target = new URL(url);
  const agent = new Agent({ keepAlive: true, maxSockets: maxConnections });
  const latencies = new Latencies();
  let sent = 0;
  let answered = 0;
  let failed = 0;
  return new Promise((resolveRun, reject) => {
    const started = performance.now();
    let sending = true;
    let finished = false;
    const finish = () => {
      if (finished) return;
      finished = true;
      clearTimeout(drainGuard);
      agent.destroy();
      const seconds = (performance.now() - started) / 1000;
      if (failed > 0 || answered < sent) {
        return reject(
          new Error(`${method} ${url}: ${failed} failed and ${sent - answered - failed} unanswered of ${sent}`),
        );
      }
      resolveRun({ requests: answered, seconds, rps: answered / durationS, rate, ...latencies.summary() });
    };
    const settle = () => !sending && answered + failed === sent && finish();
    const sendOne = () => {
      const sentAt = performance.now();
      const varied = requestFor?.(sent);
      const outgoing = request(
        {
          host: target.hostname,
          port: target.port,
          path: target.pathname,
          method,
          headers: varied?.headers ?? headers,
          agent,
        },
        (response) => {
          response.resume();
          response.once('end', () => {
            if (response.statusCode >= 200 && response.statusCode < 300) {
              latencies.add(performance.now() - sentAt);
              answered += 1;
            } else failed += 1;
            settle();
          });
        },
      );
      outgoing.once('error', () => {
        failed += 1;
        settle();
      });
      outgoing.end(varied?.body);
      sent += 1;
    };
    // A 2 ms tick sends what is due since the last one: a few requests at a time, never a whole second's.
    const ticker = setInterval(() => {
      const elapsedS = (performance.now() - started) / 1000;
      if (elapsedS >= durationS) {
        clearInterval(ticker);
        sending = false;
        settle();
        return;
      }
      while (sent < Math.floor(elapsedS * rate)) sendOne();
    }, 2);
    // Bounded: answers still missing 15 s after the last send count as failures.
    const drainGuard = setTimeout(() => finish(), (durationS + 15) * 1000);
  });
}

export function median(values) {
  const sorted = values.filter((value) => Number.isFinite(value)).sort((a, b) => a - b);
  if (sorted.length === 0) return NaN;
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[middle] : (sorted[middle - 1] + sorted[middle]) / 2;
}

/** Open-loop rounds of one phase (idle, or under some load): median p50 and p99, with the CPU they took. */
export function summarizeRounds(rows, cpu) {
  return {
    p50: median(rows.map((row) => row.p50)),
    p99: median(rows.map((row) => row.p99)),
    cpu: cpu.cores(),
    rounds: rows,
  };
}
