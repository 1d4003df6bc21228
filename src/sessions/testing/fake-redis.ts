import { EventEmitter } from 'node:events';

/**
 * The few ioredis members the session state uses, over an in-memory map, so that what one method
 * writes is what another reads. Each command is a jest.fn(): a spec can inspect calls or make one fail.
 */
export interface FakeTransaction {
  set: jest.Mock;
  del: jest.Mock;
  exec: jest.Mock<Promise<[Error | null, unknown][] | null>, []>;
}

export interface FakeRedis {
  /** key -> value and the PX lifetime it was written with. */
  readonly data: Map<string, { value: string; ttlMs: number }>;
  mget: jest.Mock<Promise<(string | null)[]>, Array<string | string[]>>;
  exists: jest.Mock<Promise<number>, [string]>;
  set: jest.Mock<Promise<'OK'>, [string, string, 'PX', number]>;
  multi: jest.Mock<FakeTransaction, []>;
  on: jest.Mock;
  once: jest.Mock;
  /** ioredis's connection state; 'ready' unless a test says otherwise. */
  status: string;
  /** What the ioredis client does on a connection event. */
  emit(event: 'error' | 'close' | 'end' | 'ready' | 'refresh' | '-node', ...args: unknown[]): void;
}

export function fakeRedis(): FakeRedis {
  const data = new Map<string, { value: string; ttlMs: number }>();
  const events = new EventEmitter();
  const write = (key: string, value: string, ttlMs: number) => data.set(key, { value, ttlMs });

  const multi = (): FakeTransaction => {
    const queued: (() => [Error | null, unknown])[] = [];
    const transaction: FakeTransaction = {
      set: jest.fn((key: string, value: string, _px: 'PX', ttlMs: number) => {
        queued.push(() => (write(key, value, ttlMs), [null, 'OK']));
        return transaction;
      }),
      del: jest.fn((key: string) => {
        queued.push(() => [null, data.delete(key) ? 1 : 0]);
        return transaction;
      }),
      exec: jest.fn(() => Promise.resolve(queued.map((command) => command()))),
    };
    return transaction;
  };

  const redis: FakeRedis = {
    data,
    // ioredis takes the keys as arguments or as one array.
    mget: jest.fn((...keys: Array<string | string[]>) =>
      Promise.resolve(keys.flat().map((key) => data.get(key)?.value ?? null)),
    ),
    exists: jest.fn((key: string) => Promise.resolve(data.has(key) ? 1 : 0)),
    set: jest.fn((key: string, value: string, _px: 'PX', ttlMs: number) => {
      write(key, value, ttlMs);
      return Promise.resolve('OK' as const);
    }),
    multi: jest.fn(multi),
    status: 'ready',
    on: jest.fn((event: string, listener: (...args: unknown[]) => void) => {
      events.on(event, listener);
      return redis;
    }),
    once: jest.fn((event: string, listener: (...args: unknown[]) => void) => {
      events.once(event, listener);
      return redis;
    }),
    emit: (event, ...args) => void events.emit(event, ...args),
  };
  return redis;
}

/** A transaction whose exec answers `results` (null: aborted) and writes nothing, for `multi.mockReturnValue`. */
export function transactionResolving(results: [Error | null, unknown][] | null): FakeTransaction {
  const transaction: FakeTransaction = {
    set: jest.fn(() => transaction),
    del: jest.fn(() => transaction),
    exec: jest.fn(() => Promise.resolve(results)),
  };
  return transaction;
}

/** A transaction whose exec rejects with `error` (a lost connection, a timeout) and writes nothing. */
export function transactionRejecting(error: Error): FakeTransaction {
  const transaction = transactionResolving(null);
  transaction.exec.mockRejectedValue(error);
  return transaction;
}
