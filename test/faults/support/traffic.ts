import { Agent } from 'node:http';
import { performance } from 'node:perf_hooks';
import { InstanceClient, overSocket, sleep, type Reply, type SocketOptions } from '../../support/http';

/**
 * Steady HTTP traffic against an app on a loopback port, recorded request by request, for the fault
 * suites: every exchange is kept with when it was sent and answered, so that a suite can check what
 * was answered before, during and after a fault.
 */

export const now = (): number => performance.now();

export interface Expectation {
  /** The statuses that mean the request was served as it would be without any fault. */
  good: number[];
  /** Further statuses that are correct during a fault (503 by default). */
  tolerated?: number[];
  token?: string;
  body?: unknown;
  /** When the token presented was issued (to judge a 401 against the time of a fault). */
  tokenIssuedAt?: number;
}

export interface Sample {
  loop: string;
  route: string;
  sentAt: number;
  answeredAt: number;
  status?: number;
  /** Set when no complete response arrived: ECONNRESET, ECONNREFUSED, ABORTED, TIMEOUT... */
  error?: string;
  good: boolean;
  /** Good or tolerated: anything else (a 500, a 2xx for a revoked token, a reset) is a failure. */
  allowed: boolean;
  tokenIssuedAt?: number;
  text?: string;
}

/** Sends requests over its own connection(s) and records each exchange as a Sample. */
export class RecordingClient {
  private readonly client: InstanceClient;

  constructor(
    private readonly samples: Sample[],
    baseUrl: string,
    readonly name: string,
    socket: SocketOptions = {},
  ) {
    this.client = new InstanceClient(baseUrl, name, overSocket(socket));
  }

  async call(route: string, method: string, path: string, expectation: Expectation): Promise<Reply | undefined> {
    const sentAt = now();
    const tolerated = expectation.tolerated ?? [503];
    const record = (outcome: Partial<Sample>) =>
      this.samples.push({ loop: this.name, route, sentAt, answeredAt: now(), good: false, allowed: false, ...outcome });
    try {
      const reply = await this.client.request(method, path, { token: expectation.token, body: expectation.body });
      const good = expectation.good.includes(reply.status);
      record({
        status: reply.status,
        good,
        allowed: good || tolerated.includes(reply.status),
        tokenIssuedAt: expectation.tokenIssuedAt,
        text: good ? undefined : reply.text.slice(0, 300),
      });
      return reply;
    } catch (error) {
      record({ error: (error as Error).message });
      return undefined;
    }
  }
}

/**
 * Loops that each repeat an iteration on their own keep-alive connection (one socket) until stop(),
 * and single requests on connections of their own; every exchange lands in `samples`.
 */
export class Traffic {
  readonly samples: Sample[] = [];
  /** Exceptions thrown by the suite's own loop code (not HTTP failures, which are samples). */
  readonly loopErrors: string[] = [];
  private running = true;
  private readonly loops: Promise<void>[] = [];

  constructor(readonly baseUrl: string) {}

  /** A client whose every request opens a connection of its own (`socket.onSent` to learn when it is written). */
  client(name: string, socket: SocketOptions = {}): RecordingClient {
    return new RecordingClient(this.samples, this.baseUrl, name, socket);
  }

  loop(name: string, pauseMs: number, iteration: (client: RecordingClient, round: number) => Promise<void>): void {
    const agent = new Agent({ keepAlive: true, maxSockets: 1 });
    const client = this.client(name, { agent });
    this.loops.push(
      (async () => {
        try {
          for (let round = 0; this.running; round += 1) {
            await iteration(client, round);
            if (pauseMs > 0 && this.running) await sleep(pauseMs);
          }
        } catch (error) {
          this.loopErrors.push(`${name}: ${(error as Error).stack ?? String(error)}`);
        } finally {
          agent.destroy();
        }
      })(),
    );
  }

  /** Starts no further iteration: each loop ends after its current one. */
  halt(): void {
    this.running = false;
  }

  /** Ends every loop after its current iteration (each request is bounded by its timeout). */
  async stop(): Promise<void> {
    this.halt();
    await Promise.all(this.loops);
  }
}

export function describeSample(sample: Sample, origin: number): string {
  const at = (t: number) => `${Math.round(t - origin)} ms`;
  const outcome = sample.error ?? `${sample.status}${sample.text ? ` ${sample.text}` : ''}`;
  return `${sample.loop} ${sample.route}: ${outcome} (sent at ${at(sample.sentAt)}, answered at ${at(sample.answeredAt)})`;
}

/** The first 15 samples of `list`, one a line, times from `origin`: '' when there are none. */
export function show(list: Sample[], origin: number): string {
  return list
    .slice(0, 15)
    .map((s) => describeSample(s, origin))
    .join('\n');
}

/**
 * For each route, how long after `from` its first good answer came (undefined: none). Only requests
 * answered after `from` count.
 */
export function firstGoodAfter(samples: Sample[], from: number, routes: string[]): Record<string, number | undefined> {
  const result: Record<string, number | undefined> = {};
  for (const route of routes) {
    const first = samples
      .filter((s) => s.route === route && s.good && s.answeredAt >= from)
      .reduce<number | undefined>(
        (min, s) => (min === undefined || s.answeredAt < min ? s.answeredAt : min),
        undefined,
      );
    result[route] = first === undefined ? undefined : Math.round(first - from);
  }
  return result;
}

/** Counts of each outcome per route, for a failure message or the suite's log. */
export function tally(samples: Sample[]): Record<string, Record<string, number>> {
  const result: Record<string, Record<string, number>> = {};
  for (const sample of samples) {
    const outcome = sample.error ?? String(sample.status);
    result[sample.route] ??= {};
    result[sample.route][outcome] = (result[sample.route][outcome] ?? 0) + 1;
  }
  return result;
}

/**
 * Waits until `until` (a time on the now() clock) has passed and `condition` holds: phases of a
 * fault suite end on what the traffic has done, not only on time, so that a slow machine does not
 * shorten them. Throws after `maxMs`.
 */
export async function waitFor(condition: () => boolean, until: number, maxMs: number, what: string): Promise<void> {
  const deadline = now() + maxMs;
  while (now() < until || !condition()) {
    if (now() > deadline) throw new Error(`timed out after ${maxMs} ms waiting for ${what}`);
    const left = until - now();
    await sleep(left > 0 ? Math.min(25, left) : 25);
  }
}

/** Whether every route has a good answer among the samples `since` selects. */
export function everyRouteServed(samples: Sample[], routes: string[], since: (s: Sample) => boolean): boolean {
  return routes.every((route) => samples.some((s) => s.route === route && s.good && since(s)));
}

/**
 * Repeats `call` every `intervalMs` while `again` holds of its answer (a 503 by default), for at
 * most `timeoutMs`: the first other answer, or the last one at the deadline (for the caller to assert on).
 */
export async function pollWhile(
  call: () => Promise<Reply>,
  timeoutMs: number,
  { again = (res: Reply) => res.status === 503, intervalMs = 50 } = {},
): Promise<Reply> {
  const deadline = now() + timeoutMs;
  for (;;) {
    const res = await call();
    if (!again(res) || now() + intervalMs > deadline) return res;
    await sleep(intervalMs);
  }
}
