import { Agent, request, type IncomingHttpHeaders } from 'node:http';
import { performance } from 'node:perf_hooks';

/**
 * Steady HTTP traffic against an app on a loopback port, recorded request by request, for the fault
 * suites: every exchange is kept with when it was sent and answered, so that a suite can check what
 * was answered before, during and after a fault.
 */

export const now = (): number => performance.now();
export const sleep = (ms: number) => new Promise<void>((resolveSleep) => setTimeout(resolveSleep, ms));

export interface Reply {
  status: number;
  headers: IncomingHttpHeaders;
  text: string;
  body: any;
}

export interface SendOptions {
  token?: string;
  body?: unknown;
  /** A keep-alive agent to reuse a connection; by default each request opens its own. */
  agent?: Agent;
  timeoutMs?: number;
  /** Called once the whole request has been handed to the socket. */
  onSent?: () => void;
}

/**
 * One HTTP exchange with 127.0.0.1. Resolves only with a complete response (the whole body as
 * announced); rejects with the socket error's code (ECONNRESET, ECONNREFUSED...), ABORTED for a
 * response cut short, or TIMEOUT.
 */
export function send(port: number, method: string, path: string, options: SendOptions = {}): Promise<Reply> {
  const timeoutMs = options.timeoutMs ?? 15_000;
  const payload = options.body === undefined ? undefined : JSON.stringify(options.body);
  const headers: Record<string, string | number> = {};
  if (options.token !== undefined) headers.authorization = `Bearer ${options.token}`;
  if (payload !== undefined) {
    headers['content-type'] = 'application/json';
    headers['content-length'] = Buffer.byteLength(payload);
  }
  return new Promise((resolveReply, reject) => {
    let settled = false;
    const fail = (error: Error) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      req.destroy();
      reject(error);
    };
    const req = request({ host: '127.0.0.1', port, method, path, headers, agent: options.agent ?? false }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (chunk: Buffer) => chunks.push(chunk));
      res.on('aborted', () => fail(new Error('ABORTED: response cut short')));
      res.on('error', (error: NodeJS.ErrnoException) => fail(new Error(error.code ?? error.message)));
      res.on('end', () => {
        if (!res.complete) return fail(new Error('ABORTED: response cut short'));
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        const text = Buffer.concat(chunks).toString('utf8');
        resolveReply({ status: res.statusCode ?? 0, headers: res.headers, text, body: parseJson(text) });
      });
    });
    const timer = setTimeout(() => fail(new Error(`TIMEOUT: no complete response within ${timeoutMs} ms`)), timeoutMs);
    req.on('error', (error: NodeJS.ErrnoException) => fail(new Error(error.code ?? error.message)));
    req.on('finish', () => options.onSent?.());
    req.end(payload);
  });
}

function parseJson(text: string): unknown {
  if (text === '') return undefined;
  try {
    return JSON.parse(text);
  } catch {
    return text;
  }
}

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
  /** Set when no complete response arrived. */
  error?: string;
  good: boolean;
  /** Good or tolerated: anything else (a 500, a 2xx for a revoked token, a reset) is a failure. */
  allowed: boolean;
  tokenIssuedAt?: number;
  text?: string;
}

/** One loop's own keep-alive connection (one socket), and the calls that record samples. */
export class LoopClient {
  private readonly agent = new Agent({ keepAlive: true, maxSockets: 1 });

  constructor(
    private readonly traffic: Traffic,
    readonly name: string,
  ) {}

  async call(route: string, method: string, path: string, expectation: Expectation): Promise<Reply | undefined> {
    const sentAt = now();
    const tolerated = expectation.tolerated ?? [503];
    try {
      const reply = await send(this.traffic.port, method, path, {
        agent: this.agent,
        token: expectation.token,
        body: expectation.body,
      });
      const good = expectation.good.includes(reply.status);
      this.traffic.samples.push({
        loop: this.name,
        route,
        sentAt,
        answeredAt: now(),
        status: reply.status,
        good,
        allowed: good || tolerated.includes(reply.status),
        tokenIssuedAt: expectation.tokenIssuedAt,
        text: good ? undefined : reply.text.slice(0, 300),
      });
      return reply;
    } catch (error) {
      const message = (error as Error).message;
      this.traffic.samples.push({
        loop: this.name,
        route,
        sentAt,
        answeredAt: now(),
        error: message,
        good: false,
        allowed: false,
      });
      return undefined;
    }
  }

  close(): void {
    this.agent.destroy();
  }
}

/** Loops that each repeat an iteration on their own connection until stop(). */
export class Traffic {
  readonly samples: Sample[] = [];
  /** Exceptions thrown by the suite's own loop code (not HTTP failures, which are samples). */
  readonly loopErrors: string[] = [];
  private running = true;
  private readonly loops: Promise<void>[] = [];

  constructor(readonly port: number) {}

  loop(name: string, pauseMs: number, iteration: (client: LoopClient, round: number) => Promise<void>): void {
    const client = new LoopClient(this, name);
    this.loops.push(
      (async () => {
        try {
          for (let round = 0; this.running; round += 1) {
            await iteration(client, round);
            await sleep(pauseMs);
          }
        } catch (error) {
          this.loopErrors.push(`${name}: ${(error as Error).stack ?? String(error)}`);
        } finally {
          client.close();
        }
      })(),
    );
  }

  /** Ends every loop after its current iteration (each request is bounded by its timeout). */
  async stop(): Promise<void> {
    this.running = false;
    await Promise.all(this.loops);
  }
}

export function describeSample(sample: Sample, origin: number): string {
  const at = (t: number) => `${Math.round(t - origin)} ms`;
  const outcome = sample.error ?? `${sample.status}${sample.text ? ` ${sample.text}` : ''}`;
  return `${sample.loop} ${sample.route}: ${outcome} (sent at ${at(sample.sentAt)}, answered at ${at(sample.answeredAt)})`;
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
    await sleep(25);
  }
}

/** Whether every route has a good answer among the samples `since` selects. */
export function everyRouteServed(samples: Sample[], routes: string[], since: (s: Sample) => boolean): boolean {
  return routes.every((route) => samples.some((s) => s.route === route && s.good && since(s)));
}
