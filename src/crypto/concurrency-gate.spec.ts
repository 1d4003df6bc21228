import { ConcurrencyGate, GateFullError } from './concurrency-gate';

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

  describe('with maxWaiting', () => {
    it('refuses at once, without running it, a task that would make more than maxWaiting wait', async () => {
      const gate = new ConcurrencyGate(1, 1);
      const log: string[] = [];
      const [a, b] = ['a', 'b'].map((name) => heldTask(log, name));
      const results = [gate.run(a.task), gate.run(b.task)];
      const refused = jest.fn(() => Promise.resolve('c'));

      await expect(gate.run(refused)).rejects.toBeInstanceOf(GateFullError);
      expect(refused).not.toHaveBeenCalled();
      expect(gate.queued).toBe(1);
      expect(gate.pending).toBe(2);

      a.release();
      b.release();
      await expect(Promise.all(results)).resolves.toEqual(['a', 'b']);
    });

    it('queues again once a waiting task got its slot', async () => {
      const gate = new ConcurrencyGate(1, 1);
      const log: string[] = [];
      const [a, b, c] = ['a', 'b', 'c'].map((name) => heldTask(log, name));
      const first = [gate.run(a.task), gate.run(b.task)];

      a.release();
      await settle();
      expect(log).toEqual(['start a', 'end a', 'start b']);
      const third = gate.run(c.task);
      expect(gate.queued).toBe(1);

      b.release();
      c.release();
      await expect(Promise.all([...first, third])).resolves.toEqual(['a', 'b', 'c']);
    });

    it('with maxWaiting 0, runs tasks while a slot is free and refuses any that would wait', async () => {
      const gate = new ConcurrencyGate(2, 0);
      const log: string[] = [];
      const [a, b] = ['a', 'b'].map((name) => heldTask(log, name));
      const results = [gate.run(a.task), gate.run(b.task)];

      await expect(gate.run(() => Promise.resolve('c'))).rejects.toBeInstanceOf(GateFullError);

      a.release();
      b.release();
      await expect(Promise.all(results)).resolves.toEqual(['a', 'b']);
      await expect(gate.run(() => Promise.resolve('d'))).resolves.toBe('d');
    });

    it('queues without bound when maxWaiting is not given', async () => {
      const gate = new ConcurrencyGate(1);
      const log: string[] = [];
      const tasks = Array.from({ length: 50 }, (_, index) => heldTask(log, String(index)));
      const results = tasks.map((t) => gate.run(t.task));
      await settle();

      expect(gate.queued).toBe(49);
      tasks.forEach((t) => t.release());
      await expect(Promise.all(results)).resolves.toHaveLength(50);
    });

    it.each([-1, Number.NaN])('refuses a maxWaiting of %p', (maxWaiting) => {
      expect(() => new ConcurrencyGate(1, maxWaiting)).toThrow(RangeError);
    });
  });
});
