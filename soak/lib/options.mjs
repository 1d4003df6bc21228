// The soak's command line. The defaults are the run whose plot is published: change them and that plot
// no longer matches its subtitle.

export const DEFAULT_DURATION_S = 600;
// Enough virtual users to keep both instances busy on two cores (each user waits for every answer).
export const DEFAULT_CONCURRENCY = 48;
export const DEFAULT_SESSIONS = 50_000;
const ADAPTER_CHOICES = ['express', 'fastify', 'both'];

const USAGE = `Usage: node soak/run-soak.mjs [--duration <seconds|90s|5m>] [--concurrency <virtual users>] [--sessions <N>] [--adapter express|fastify|both]
  --duration     how long the load runs (default ${DEFAULT_DURATION_S} s)
  --concurrency  virtual users, each one session lifecycle at a time (default ${DEFAULT_CONCURRENCY})
  --sessions     sessions seeded into the shared database before the load, 0 for none (default ${DEFAULT_SESSIONS})
  --adapter      HTTP_ADAPTER of the two instances; "both": A express, B fastify (default express)
       node soak/run-soak.mjs --replot soak/results/<run>.json   redraws that run's SVG from its data`;

function parseDuration(text) {
  const match = /^(\d+(?:\.\d+)?)(s|m|h)?$/.exec(String(text).trim());
  if (!match) return null;
  const seconds = Number(match[1]) * { s: 1, m: 60, h: 3600 }[match[2] ?? 's'];
  return seconds > 0 ? seconds : null;
}

/** A whole number at least `min`, written plainly or with _ or , between the thousands (50_000). */
function parseCount(text, min) {
  const value = Number(String(text).replace(/[_,]/g, ''));
  return Number.isInteger(value) && value >= min ? value : null;
}

export function parseArguments(argv) {
  const options = {
    durationS: DEFAULT_DURATION_S,
    concurrency: DEFAULT_CONCURRENCY,
    sessions: DEFAULT_SESSIONS,
    adapter: 'express',
  };
  const fail = (message) => {
    console.error(`${message}\n\n${USAGE}`);
    process.exit(2);
  };
  for (let index = 0; index < argv.length; index++) {
    const [flag, inlineValue] = argv[index].split(/=(.*)/s);
    if (flag === '--help' || flag === '-h') {
      console.log(USAGE);
      process.exit(0);
    }
    const value = inlineValue ?? argv[++index];
    if (value === undefined) fail(`${flag} needs a value`);
    if (flag === '--duration') {
      options.durationS = parseDuration(value) ?? fail(`--duration: "${value}" is not a duration`);
    } else if (flag === '--concurrency') {
      options.concurrency = parseCount(value, 1) ?? fail(`--concurrency: "${value}"`);
    } else if (flag === '--sessions') {
      options.sessions = parseCount(value, 0) ?? fail(`--sessions: "${value}"`);
    } else if (flag === '--replot') {
      options.replot = value;
    } else if (flag === '--adapter') {
      if (!ADAPTER_CHOICES.includes(value)) fail(`--adapter: one of ${ADAPTER_CHOICES.join(', ')}`);
      options.adapter = value;
    } else {
      fail(`Unknown option ${flag}`);
    }
  }
  return options;
}
