// A deliberately plain HTTP/1.1 client: node:http over one keep-alive agent, the way a service talks to
// its neighbours. fetch would hide the Set-Cookie list behind a browser-like API and add its own pool.
import http from 'node:http';
import { performance } from 'node:perf_hooks';

const REQUEST_TIMEOUT_MS = 15_000;

export class RunAborted extends Error {
  name = 'RunAborted';
}

export function createHttpClient() {
  // Every virtual user keeps at most a few requests in flight; the pool grows to what the load needs
  // and sockets are reused, so the run measures the service and not TCP handshakes.
  //
  // `timeout` matters: only with it does Node's agent heed the server's `Keep-Alive: timeout=5` and
  // drop an idle socket a second before the server does. Without it (Node 20) idle sockets stay in
  // the pool until the server closes them, and a request that picks one at that very moment ends in
  // ECONNRESET: a client-side race (seen once in ~45,000 requests on a loaded machine), not a fault
  // of the service.
  const agent = new http.Agent({
    keepAlive: true,
    maxSockets: Infinity,
    maxFreeSockets: 1024,
    timeout: REQUEST_TIMEOUT_MS,
  });
  const inFlight = new Set();
  let aborted = false;

  /**
   * Resolves to `{ status, headers, text, json, ms }`, or to `{ error, ms }` when no response came
   * (connection refused or reset, timeout). Throws RunAborted once abortAll() was called, so that an
   * answer cut off by the end of the run is never judged.
   */
  function send(instance, { method, path, headers = {}, body }) {
    if (aborted) return Promise.reject(new RunAborted());
    const payload = body === undefined ? undefined : JSON.stringify(body);
    const requestHeaders = { accept: 'application/json', ...headers };
    if (payload !== undefined) {
      requestHeaders['content-type'] = 'application/json';
      requestHeaders['content-length'] = Buffer.byteLength(payload);
    }
    const started = performance.now();
    return new Promise((resolveSend, rejectSend) => {
      const request = http.request(
        { host: '127.0.0.1', port: instance.port, method, path, headers: requestHeaders, agent },
        (response) => {
          const chunks = [];
          response.on('data', (chunk) => chunks.push(chunk));
          response.on('error', (error) => finish({ error: error.code ?? error.message }));
          response.on('end', () => {
            const text = Buffer.concat(chunks).toString('utf8');
            let json;
            if (text && /json/.test(response.headers['content-type'] ?? '')) {
              try {
                json = JSON.parse(text);
              } catch {
                // Judged by the caller: a JSON content type with a body that is not JSON.
              }
            }
            finish({ status: response.statusCode, headers: response.headers, text, json });
          });
        },
      );
      let settled = false;
      const finish = (outcome) => {
        if (settled) return;
        settled = true;
        inFlight.delete(request);
        if (aborted) return rejectSend(new RunAborted());
        resolveSend({ ...outcome, ms: performance.now() - started });
      };
      request.setTimeout(REQUEST_TIMEOUT_MS, () =>
        request.destroy(new Error(`timeout after ${REQUEST_TIMEOUT_MS} ms`)),
      );
      request.on('error', (error) => finish({ error: error.code ?? error.message }));
      inFlight.add(request);
      request.end(payload);
    });
  }

  /** Cuts every request in flight and refuses new ones. */
  function abortAll() {
    aborted = true;
    for (const request of inFlight) request.destroy();
    inFlight.clear();
    agent.destroy();
  }

  const close = () => agent.destroy();

  return { send, abortAll, close, inFlightCount: () => inFlight.size };
}
