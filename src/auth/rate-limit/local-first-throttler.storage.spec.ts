import type { ThrottlerStorage } from '@nestjs/throttler';
import { LocalFirstThrottlerStorage } from './local-first-throttler.storage';

const TTL_MS = 60_000;
const LIMIT = 3;
const NOW = Date.parse('2030-01-01T12:00:10.000Z');

describe(LocalFirstThrottlerStorage.name, () => {
  let now = NOW;
  let shared: jest.Mocked<Pick<ThrottlerStorage, 'increment'>>;
  let sut: LocalFirstThrottlerStorage;

  beforeEach(() => {
    now = NOW;
    shared = {
      increment: jest
        .fn()
        .mockResolvedValue({ totalHits: 1, timeToExpire: 50, isBlocked: false, timeToBlockExpire: 0 }),
    };
    sut = new LocalFirstThrottlerStorage(shared as unknown as ThrottlerStorage, { now: () => now });
  });

  afterEach(() => jest.restoreAllMocks());

  const hit = (key = 'auth:default:198.51.100.7') => sut.increment(key, TTL_MS, LIMIT, 0, 'default');

  it('asks the shared store for every hit up to the limit, and answers its record', async () => {
    for (let i = 0; i < LIMIT; i++) await expect(hit()).resolves.toMatchObject({ isBlocked: false });

    expect(shared.increment).toHaveBeenCalledTimes(LIMIT);
  });

  it('refuses past the limit without asking the shared store, until the window ends', async () => {
    for (let i = 0; i < LIMIT; i++) await hit();

    await expect(hit()).resolves.toEqual({
      totalHits: LIMIT + 1,
      timeToExpire: 50,
      isBlocked: true,
      timeToBlockExpire: 50,
    });
    expect(shared.increment).toHaveBeenCalledTimes(LIMIT);
  });

  it('counts each key on its own', async () => {
    for (let i = 0; i < LIMIT + 2; i++) await hit('auth:default:198.51.100.7');

    await expect(hit('auth:default:198.51.100.8')).resolves.toMatchObject({ isBlocked: false });
  });

  it('starts counting again in the next window', async () => {
    for (let i = 0; i < LIMIT + 2; i++) await hit();
    now = NOW + TTL_MS;

    await expect(hit()).resolves.toMatchObject({ isBlocked: false });
  });

  it('decides a burst sent at once by its local count: only the limit reaches the shared store', async () => {
    const answers = await Promise.all(Array.from({ length: 50 }, () => hit()));

    expect(shared.increment).toHaveBeenCalledTimes(LIMIT);
    expect(answers.filter((answer) => answer.isBlocked)).toHaveLength(50 - LIMIT);
  });
});
