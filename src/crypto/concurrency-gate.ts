/** Thrown by ConcurrencyGate.run when `maxWaiting` tasks already wait. */
export class GateFullError extends Error {
  override name = 'GateFullError';
}

/**
 * Lets at most `limit` tasks run at once; the others wait in arrival order, at most `maxWaiting` of
 * them: beyond that a task is refused at once rather than queued for an unbounded time. Small enough to
 * keep here rather than add a dependency (p-limit, the usual choice, is ESM-only and does not load
 * under Jest, and has no bound on its queue).
 */
export class ConcurrencyGate {
  private running = 0;
  private readonly waiting: Array<() => void> = [];

  constructor(
    readonly limit: number,
    readonly maxWaiting = Number.POSITIVE_INFINITY,
  ) {
    if (!Number.isInteger(limit) || limit < 1) throw new RangeError(`limit must be a positive integer (got ${limit})`);
    if (!(maxWaiting >= 0)) throw new RangeError(`maxWaiting must not be negative (got ${maxWaiting})`);
  }

  /** Tasks running or waiting: for tests and metrics. */
  get pending(): number {
    return this.running + this.waiting.length;
  }

  /** Tasks waiting for a slot. */
  get queued(): number {
    return this.waiting.length;
  }

  async run<T>(task: () => Promise<T>): Promise<T> {
    if (this.running >= this.limit) {
      if (this.waiting.length >= this.maxWaiting) throw new GateFullError(`${this.waiting.length} tasks already wait`);
      await new Promise<void>((resolve) => this.waiting.push(resolve));
    } else this.running += 1;
    try {
      return await task();
    } finally {
      // The slot passes straight to the next waiter, so `running` never dips and a newcomer cannot jump the queue.
      const next = this.waiting.shift();
      if (next) next();
      else this.running -= 1;
    }
  }
}
