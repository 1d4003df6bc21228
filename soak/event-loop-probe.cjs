// Preloaded into each soak instance (`node --require <this file> dist/main.js`) so that the soak can see
// the event-loop delay from inside a stock production build without touching product code. Once a
// second it sends the last second's delay percentiles and the V8 heap to the parent over the IPC
// channel, then starts a fresh window, so a stall shows up in the second it happened.
//
// CommonJS because --require loads it before dist/main.js, which is CommonJS too.
'use strict';

// eslint-disable-next-line @typescript-eslint/no-require-imports -- a --require preload is CommonJS by definition
const { monitorEventLoopDelay } = require('node:perf_hooks');

const RESOLUTION_MS = 10;
const REPORT_INTERVAL_MS = 1000;
const NS_PER_MS = 1e6;

// Started without an IPC channel (someone ran the command by hand): stay out of the way.
if (typeof process.send === 'function') {
  const histogram = monitorEventLoopDelay({ resolution: RESOLUTION_MS });
  histogram.enable();

  // The histogram records the whole interval between two of its timer ticks, so an idle loop reads the
  // resolution itself (about 10 ms); reporting the excess makes "p99 3 ms" mean "3 ms late".
  const lateness = (nanoseconds) => Math.max(0, nanoseconds / NS_PER_MS - RESOLUTION_MS);

  const timer = setInterval(() => {
    if (!process.connected) return;
    const message = {
      type: 'soak-probe',
      eventLoopDelay: {
        p50: lateness(histogram.percentile(50)),
        p99: lateness(histogram.percentile(99)),
        max: lateness(histogram.max),
        samples: histogram.count,
      },
      heapUsedBytes: process.memoryUsage().heapUsed,
    };
    histogram.reset();
    // A callback, so that a parent that went away is an ignored error and not an 'error' event.
    process.send(message, () => undefined);
  }, REPORT_INTERVAL_MS);
  // Neither the probe nor its channel may keep the server alive once it wants to exit.
  timer.unref();
  process.channel?.unref();
}
