import { createTestApp, type EnvOverrides, type TestApp } from '../../support/test-app';
import { setCookieHeaders } from '../../support/http';

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
