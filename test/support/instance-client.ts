import type { AddressInfo } from 'node:net';
import type { TestApp } from './test-app';

/**
 * A client for an app that listens on a real port, over fetch: for suites that talk to several
 * instances (each on its own port) the way separate processes behind a load balancer would be talked to.
 */

export interface FetchResult {
  status: number;
  body: any;
  text: string;
  headers: Headers;
}

export interface RequestOptions {
  token?: string;
  body?: unknown;
  cookie?: string;
  headers?: Record<string, string>;
}

export class InstanceClient {
  constructor(
    readonly baseUrl: string,
    readonly name = baseUrl,
  ) {}

  async request(method: string, path: string, options: RequestOptions = {}): Promise<FetchResult> {
    const headers: Record<string, string> = {};
    if (options.token !== undefined) headers.authorization = `Bearer ${options.token}`;
    if (options.cookie !== undefined) headers.cookie = options.cookie;
    if (options.body !== undefined) headers['content-type'] = 'application/json';
    Object.assign(headers, options.headers);
    const res = await fetch(`${this.baseUrl}${path}`, {
      method,
      headers,
      body: options.body === undefined ? undefined : JSON.stringify(options.body),
      signal: AbortSignal.timeout(15_000),
    });
    const text = await res.text();
    let body: unknown = undefined;
    if (text !== '') {
      try {
        body = JSON.parse(text);
      } catch {
        body = text;
      }
    }
    return { status: res.status, body, text, headers: res.headers };
  }

  me(token: string) {
    return this.request('GET', '/api/users/me', { token });
  }

  verify(token: string) {
    return this.request('GET', '/api/auth/verify', { token });
  }

  refresh(refreshToken: string) {
    return this.request('POST', '/api/auth/refresh', { body: { refreshToken } });
  }

  login(username: string, password: string) {
    return this.request('POST', '/api/auth/login', { body: { username, password } });
  }

  register(username: string, password: string) {
    return this.request('POST', '/api/auth/register', { body: { username, password } });
  }
}

/** Listens on an ephemeral loopback port and returns a client for it. */
export async function listenOnLoopback(t: TestApp, name?: string): Promise<InstanceClient> {
  await t.app.listen(0, '127.0.0.1');
  const { port } = t.app.getHttpServer().address() as AddressInfo;
  return new InstanceClient(`http://127.0.0.1:${port}`, name);
}

/** Polls until `probe` resolves without throwing, or rethrows its last failure at the deadline. */
export async function eventually<T>(probe: () => Promise<T>, timeoutMs: number, intervalMs = 250): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      return await probe();
    } catch (error) {
      if (Date.now() + intervalMs > deadline) throw error;
      await new Promise((resolve) => setTimeout(resolve, intervalMs));
    }
  }
}
