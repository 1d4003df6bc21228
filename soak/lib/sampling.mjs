// Each instance's memory and event-loop delay over the run: RSS read from /proc every second (from
// outside, so that measuring costs the instance nothing), V8 heap and event-loop delay from the probe
// preloaded into it (soak/event-loop-probe.cjs, over the IPC channel).
import { readRssBytes } from './cluster.mjs';
import { memoryGrowth } from './criteria.mjs';
import { median, round, slope } from './stats.mjs';

const SAMPLE_INTERVAL_MS = 1000;
const MB = 1024 * 1024;

/** Per instance: RSS read from outside every second, and what its probe reports. */
export function startSampling(instances, loadStartedAt) {
  const secondsNow = () => round((Date.now() - loadStartedAt) / 1000, 1);
  const series = new Map(
    instances.map((instance) => [
      instance,
      { rss: [], heap: [], eventLoop: [], idleRssMB: round(readRssBytes(instance.pid) / MB, 1) },
    ]),
  );
  const onProbe = (instance) => (message) => {
    if (message?.type !== 'soak-probe') return;
    const samples = series.get(instance);
    const at = secondsNow();
    const { p50, p99, max } = message.eventLoopDelay;
    samples.eventLoop.push([at, round(p50), round(p99), round(max)]);
    samples.heap.push([at, round(message.heapUsedBytes / MB, 1)]);
  };
  const listeners = instances.map((instance) => {
    const listener = onProbe(instance);
    instance.child.on('message', listener);
    return () => instance.child.off('message', listener);
  });
  const timer = setInterval(() => {
    for (const instance of instances) {
      const rss = readRssBytes(instance.pid);
      if (rss !== null) series.get(instance).rss.push([secondsNow(), round(rss / MB, 1)]);
    }
  }, SAMPLE_INTERVAL_MS);
  return {
    series,
    stop() {
      clearInterval(timer);
      listeners.forEach((remove) => remove());
    },
  };
}

export function summarizeInstance(instance, samples, loadSeconds) {
  const duringLoad = (points) => points.filter(([at]) => at <= loadSeconds);
  const rss = duringLoad(samples.rss);
  const heap = duringLoad(samples.heap);
  const eventLoop = duringLoad(samples.eventLoop);
  // The first half is warm-up (JIT, pools, caches); a leak is growth that goes on after it.
  const secondHalf = (points) => points.filter(([at]) => at >= loadSeconds / 2);
  const perMinute = (points) => round((slope(secondHalf(points)) ?? 0) * 60);
  const values = (points, column = 1) => points.map((point) => point[column]);
  return {
    name: instance.name,
    adapter: instance.adapter,
    pid: instance.pid,
    rssMB: {
      idle: samples.idleRssMB,
      first: rss[0]?.[1] ?? null,
      end: rss.at(-1)?.[1] ?? null,
      max: rss.length ? Math.max(...values(rss)) : null,
      trendSecondHalfMBPerMin: perMinute(rss),
    },
    heapUsedMB: {
      first: heap[0]?.[1] ?? null,
      end: heap.at(-1)?.[1] ?? null,
      max: heap.length ? Math.max(...values(heap)) : null,
      trendSecondHalfMBPerMin: perMinute(heap),
    },
    rssGrowth: memoryGrowth(rss, loadSeconds),
    heapGrowth: memoryGrowth(heap, loadSeconds),
    eventLoopDelayMs: {
      p50Median: round(median(values(eventLoop, 1))),
      p99Median: round(median(values(eventLoop, 2))),
      p99Max: eventLoop.length ? Math.max(...values(eventLoop, 2)) : null,
      max: eventLoop.length ? Math.max(...values(eventLoop, 3)) : null,
      seconds: eventLoop.length,
    },
    log: instance.log,
  };
}
