import { ConcurrencyGate } from './concurrency-gate';

/** A task that stays running until the test releases it. */
function heldTask(log: string[], name: string) {
  let release!: () => void;
  const held = new Promise<void>((resolve) => (release = resolve));
  const task = async () => {
    log.push(`start ${name}`);
    await held;
    log.push(`end ${name}`);
    return name;
  };
  return { task, release };
}

const settle = () => new Promise((resolve) => setImmediate(resolve));

describe(ConcurrencyGate.name, () => {
  it('runs at most `limit` tasks at once and starts the others in arrival order', async () => {
    const gate = new ConcurrencyGate(1);
    const log: string[] = [];
    const [a, b, c] = ['a', 'b', 'c'].map((name) => heldTask(log, name));
    const results = [gate.run(a.task), gate.run(b.task), gate.run(c.task)];
    await settle();
    expect(log).toEqual(['start a']);
    expect(gate.pending).toBe(3);

    a.release();
    await settle();
    expect(log).toEqual(['start a', 'end a', 'start b']);
    b.release();
    c.release();
    await expect(Promise.all(results)).resolves.toEqual(['a', 'b', 'c']);
    expect(log).toEqual(['start a', 'end a', 'start b', 'end b', 'start c', 'end c']);
    expect(gate.pending).toBe(0);
  });

  it('runs two at once with a limit of 2', async () => {
    const gate = new ConcurrencyGate(2);
    const log: string[] = [];
    const tasks = ['a', 'b', 'c'].map((name) => heldTask(log, name));
    const results = tasks.map((t) => gate.run(t.task));
    await settle();
    expect(log).toEqual(['start a', 'start b']);
    tasks.forEach((t) => t.release());
    await Promise.all(results);
    expect(gate.pending).toBe(0);
  });

  it('frees the slot when a task fails, and passes the failure on', async () => {
    const gate = new ConcurrencyGate(1);
    await expect(gate.run(() => Promise.reject(new Error('boom')))).rejects.toThrow('boom');
    await expect(gate.run(() => Promise.resolve('next'))).resolves.toBe('next');
    expect(gate.pending).toBe(0);
  });

  it.each([0, -1, 1.5, Number.NaN])('refuses a limit of %p', (limit) => {
    expect(() => new ConcurrencyGate(limit)).toThrow(RangeError);
  });
});
