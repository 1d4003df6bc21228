/** One Server-Sent Event as a client reads it. */
export interface StreamEvent {
  event: string;
  id?: string;
  data: unknown;
  receivedAt: number;
}

/**
 * Reads a text/event-stream over fetch, as a service's client would, and keeps every event. Ends when
 * `close()` is called or the server ends the stream.
 */
export class EventStreamReader {
  readonly events: StreamEvent[] = [];
  status = 0;
  ended = false;
  private readonly abort = new AbortController();
  private readonly done: Promise<void>;
  private readonly opened: Promise<void>;

  constructor(url: string, headers: Record<string, string>) {
    let markOpened!: () => void;
    this.opened = new Promise((resolve) => (markOpened = resolve));
    this.done = this.read(url, headers, markOpened).catch(() => undefined);
  }

  /** Resolves once the answer's status is known. */
  async open(): Promise<number> {
    await this.opened;
    return this.status;
  }

  async waitFor(predicate: (event: StreamEvent) => boolean, timeoutMs: number): Promise<StreamEvent> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const found = this.events.find(predicate);
      if (found) return found;
      if (this.ended || Date.now() > deadline) throw new Error(`no such event within ${timeoutMs} ms`);
      await new Promise((resolve) => setTimeout(resolve, 5));
    }
  }

  async close(): Promise<void> {
    this.abort.abort();
    await this.done;
  }

  private async read(url: string, headers: Record<string, string>, opened: () => void): Promise<void> {
    try {
      const res = await fetch(url, { headers, signal: this.abort.signal });
      this.status = res.status;
      opened();
      if (!res.ok || !res.body) return;
      const decoder = new TextDecoder();
      let buffer = '';
      for await (const chunk of res.body) {
        buffer += decoder.decode(chunk as Uint8Array, { stream: true });
        let end: number;
        while ((end = buffer.indexOf('\n\n')) >= 0) {
          this.take(buffer.slice(0, end));
          buffer = buffer.slice(end + 2);
        }
      }
    } finally {
      opened();
      this.ended = true;
    }
  }

  private take(block: string): void {
    const fields: Record<string, string> = {};
    for (const line of block.split('\n')) {
      const colon = line.indexOf(':');
      if (colon <= 0) continue;
      const name = line.slice(0, colon);
      const value = line.slice(colon + 1).replace(/^ /, '');
      fields[name] = name in fields ? `${fields[name]}\n${value}` : value;
    }
    if (fields.data === undefined) return;
    this.events.push({
      event: fields.event ?? 'message',
      id: fields.id,
      data: JSON.parse(fields.data) as unknown,
      receivedAt: Date.now(),
    });
  }
}
