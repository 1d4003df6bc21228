import type { AddressInfo } from 'node:net';
import { createTestApp, type EnvOverrides, type TestApp } from '../../support/test-app';
import { setCookieHeaders } from '../../support/auth-helpers';

/**
 * Shared pieces of the attack suite (test/security): what a refusal must look like, how to reach an
 * app over a real loopback socket, and the few measurements the attacks need. Nothing here attacks;
 * each spec file names its attacks and their sources.
 */

export const UNAUTHORIZED = { statusCode: 401, message: 'Unauthorized', error: 'Unauthorized' };

/**
 * Words of jsonwebtoken, passport, body-parser, the JSON parser, Mongoose, stack traces and Express's
 * HTML error page. (Nest's JSON 404 message "Cannot GET /path" is not a leak: it names only the request.)
 */
export const LEAKY_TEXT =
  /jwt (malformed|expired|not active|must be|signature)|invalid (signature|algorithm)|signature is required|JsonWebTokenError|TokenExpiredError|NotBeforeError|SyntaxError|Unexpected token|Unexpected end|JSON at position|in JSON|CastError|MongoServerError|MongooseError|ValidationError:|RangeError|Maximum call stack|at [\w.<>]+ \(|node_modules|\/src\/|<!DOCTYPE|<html|<pre>/i;

/** A response in the one shape both supertest and fetch can be turned into. */
export interface Reply {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  text: string;
  body: any;
}

export function headersOf(headers: Headers): Record<string, string | string[]> {
  const record: Record<string, string | string[]> = {};
  headers.forEach((value, name) => (record[name] = value));
  const cookies = headers.getSetCookie();
  if (cookies.length > 0) record['set-cookie'] = cookies;
  return record;
}

/** Same interface as a supertest response's fields we read, so contract-assertions helpers apply. */
export async function replyOf(res: Response): Promise<Reply> {
  const text = await res.text();
  let body: unknown;
  try {
    body = text === '' ? {} : JSON.parse(text);
  } catch {
    body = text;
  }
  return { status: res.status, headers: headersOf(res.headers), text, body };
}

export interface SendOptions {
  headers?: Record<string, string>;
  /** A value is sent as JSON; a string is sent verbatim (set the content-type yourself). */
  json?: unknown;
  raw?: string;
  timeoutMs?: number;
}

/** One request over a real socket, with a bounded wait. */
export async function send(base: string, method: string, path: string, options: SendOptions = {}): Promise<Reply> {
  const headers: Record<string, string> = { ...options.headers };
  let body: string | undefined = options.raw;
  if (options.json !== undefined) {
    body = JSON.stringify(options.json);
    headers['content-type'] ??= 'application/json';
  }
  const res = await fetch(`${base}${path}`, {
    method,
    headers,
    body,
    redirect: 'manual',
    signal: AbortSignal.timeout(options.timeoutMs ?? 15_000),
  });
  return replyOf(res);
}

/** Listens on an ephemeral port on 127.0.0.1 and returns its base URL. */
export async function listenOnV4(t: TestApp): Promise<string> {
  await t.app.listen(0, '127.0.0.1');
  const { port } = t.app.getHttpServer().address() as AddressInfo;
  return `http://127.0.0.1:${port}`;
}

/**
 * Listens on "::" so that one test can call the app from two client addresses: 127.0.0.1 (seen as
 * ::ffff:127.0.0.1) and ::1 (as test/rate-limits.e2e-spec.ts does).
 */
export async function listenOnBothLoopbacks(t: TestApp): Promise<{ v4: string; v6: string; port: number }> {
  await t.app.listen(0, '::');
  const { port } = t.app.getHttpServer().address() as AddressInfo;
  return { v4: `http://127.0.0.1:${port}`, v6: `http://[::1]:${port}`, port };
}

/** The response carried no access or refresh token, in the body or in a cookie. */
export function expectNoTokenIssued(res: { body: unknown; headers: Record<string, unknown> }): void {
  const body = JSON.stringify(res.body ?? {});
  // As a property (a token), not as a word in a validation message.
  expect(body).not.toMatch(/"(accessToken|refreshToken)"\s*:/);
  expect(setCookieHeaders(res).filter((line) => /^(accessToken|refreshToken)=[^;]/.test(line))).toEqual([]);
}

/** Never a 5xx and never a library, parser or framework message in the body. */
export function expectNoLeak(res: { status: number; text: string }, label = ''): void {
  expect({ label, status5xx: res.status >= 500 }).toEqual({ label, status5xx: false });
  expect({ label, text: res.text }).not.toEqual({ label, text: expect.stringMatching(LEAKY_TEXT) });
}

export const countOf = (t: TestApp, collection: string): Promise<number> =>
  t.connection.collection(collection).countDocuments();

export function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[middle] : (sorted[middle - 1] + sorted[middle]) / 2;
}

/** The time `work` took, in milliseconds, with its result. */
export async function timed<T>(work: () => Promise<T>): Promise<{ ms: number; result: T }> {
  const started = process.hrtime.bigint();
  const result = await work();
  return { ms: Number(process.hrtime.bigint() - started) / 1e6, result };
}

/** N liveness probes sent at once; resolves with their statuses (a probe that fails counts as 0). */
export function probeLiveness(base: string, count = 10, timeoutMs = 10_000): Promise<number[]> {
  return Promise.all(
    Array.from({ length: count }, () =>
      fetch(`${base}/health/live`, { signal: AbortSignal.timeout(timeoutMs) }).then(
        async (res) => (await res.arrayBuffer(), res.status),
        () => 0,
      ),
    ),
  );
}

export const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** `createTestApp` for a suite that opens several apps: each is closed in the suite's afterAll. */
export function appOpener(): (env: EnvOverrides, label: string) => Promise<TestApp> {
  const opened: TestApp[] = [];
  afterAll(async () => {
    for (const t of opened) await t.close();
  });
  return async (env, label) => {
    const t = await createTestApp(env, label);
    opened.push(t);
    return t;
  };
}
