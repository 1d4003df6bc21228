import { connect } from 'node:net';

/**
 * HTTP/1.1 written byte for byte, for the attacks no HTTP client can send: a Cookie header repeated
 * (Node.js's client joins them into one), a request Node.js's parser refuses, an odd Expect.
 */

export interface RawReply {
  status: number;
  /** Lower-cased names; a repeated header keeps every value. */
  headers: Record<string, string[]>;
  body: string;
}

/**
 * Sends `head` (request line and header lines, without the blank line that ends them) on a connection
 * of its own, asking the server to close it, and resolves with the one response read until it does.
 */
export function rawRequest(base: string, head: string[], timeoutMs = 10_000): Promise<RawReply> {
  const { hostname, port } = new URL(base);
  const request = [...head, 'Connection: close', '', ''].join('\r\n');
  return new Promise((resolve, reject) => {
    const socket = connect(Number(port), hostname);
    const chunks: Buffer[] = [];
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new Error(`no complete answer within ${timeoutMs} ms to ${head[0]}`));
    }, timeoutMs);
    socket.on('data', (chunk: Buffer) => chunks.push(chunk));
    // A reset after the answer arrived changes nothing; without an answer, parsing fails the test.
    socket.on('error', () => undefined);
    socket.on('close', () => {
      clearTimeout(timer);
      try {
        resolve(parseReply(Buffer.concat(chunks).toString('latin1')));
      } catch (error) {
        reject(error instanceof Error ? error : new Error(String(error)));
      }
    });
    socket.write(request);
  });
}

function parseReply(text: string): RawReply {
  const end = text.indexOf('\r\n\r\n');
  if (end === -1) throw new Error(`not an HTTP response: ${JSON.stringify(text.slice(0, 200))}`);
  const [statusLine, ...lines] = text.slice(0, end).split('\r\n');
  const status = /^HTTP\/1\.[01] (\d{3})/.exec(statusLine)?.[1];
  if (!status) throw new Error(`not a status line: ${JSON.stringify(statusLine)}`);
  const headers: Record<string, string[]> = {};
  for (const line of lines) {
    const colon = line.indexOf(':');
    const name = line.slice(0, colon).trim().toLowerCase();
    (headers[name] ??= []).push(line.slice(colon + 1).trim());
  }
  return { status: Number(status), headers, body: text.slice(end + 4) };
}

/** The one value of a header, or undefined; fails when the header is repeated. */
export function headerOf(reply: RawReply, name: string): string | undefined {
  const values = reply.headers[name.toLowerCase()] ?? [];
  expect({ name, count: Math.min(values.length, 2) }).toEqual({ name, count: Math.min(values.length, 1) });
  return values[0];
}
