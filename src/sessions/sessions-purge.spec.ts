import { Logger } from '@nestjs/common';
import { Clock } from '../common/clock/clock';
import type { RotationClaimsRepository } from './rotation-claims.repository';
import type { SessionRevocationsRepository } from './session-revocations.repository';
import type { SessionsRepository } from './sessions.repository';
import { SessionsPurge } from './sessions-purge';
import { at, HOUR, NOW } from './testing/sessions.fixture';

const PURGE_INTERVAL_MS = 10 * 60_000;
const REVOKED_RETENTION_MS = 24 * HOUR;

describe(SessionsPurge.name, () => {
  let sessions: { deleteEnded: jest.Mock };
  let claims: { deleteClaimedUpTo: jest.Mock };
  let revocations: { deleteExpired: jest.Mock };
  let warnings: jest.SpyInstance;
  let sut: SessionsPurge;

  beforeEach(() => {
    jest.useFakeTimers({ now: NOW });
    warnings = jest.spyOn(Logger.prototype, 'warn').mockImplementation(() => undefined);
    jest.spyOn(Logger.prototype, 'log').mockImplementation(() => undefined);
    sessions = { deleteEnded: jest.fn().mockResolvedValue(0) };
    claims = { deleteClaimedUpTo: jest.fn().mockResolvedValue(undefined) };
    revocations = { deleteExpired: jest.fn().mockResolvedValue(undefined) };
    sut = new SessionsPurge(
      sessions as unknown as SessionsRepository,
      claims as unknown as RotationClaimsRepository,
      revocations as unknown as SessionRevocationsRepository,
      // The real Clock, on Jest's fake time: the purge's dates move with the interval's timer.
      new Clock(),
    );
  });

  afterEach(() => {
    sut.onApplicationShutdown();
    jest.useRealTimers();
    jest.restoreAllMocks();
  });

  it('does not run before the module is initialised', async () => {
    await jest.advanceTimersByTimeAsync(3 * PURGE_INTERVAL_MS);

    expect(sessions.deleteEnded).not.toHaveBeenCalled();
  });

  it('deletes expired sessions and revocation records, and claims and revoked sessions past their retention, once per interval', async () => {
    sut.onModuleInit();

    await jest.advanceTimersByTimeAsync(PURGE_INTERVAL_MS);

    const retainedSince = at(PURGE_INTERVAL_MS - REVOKED_RETENTION_MS);
    expect(sessions.deleteEnded).toHaveBeenCalledTimes(1);
    expect(sessions.deleteEnded).toHaveBeenCalledWith(at(PURGE_INTERVAL_MS), retainedSince);
    expect(claims.deleteClaimedUpTo).toHaveBeenCalledWith(retainedSince);
    expect(revocations.deleteExpired).toHaveBeenCalledWith(at(PURGE_INTERVAL_MS));
  });

  it('stops on application shutdown', async () => {
    sut.onModuleInit();
    await jest.advanceTimersByTimeAsync(PURGE_INTERVAL_MS);

    sut.onApplicationShutdown();
    await jest.advanceTimersByTimeAsync(3 * PURGE_INTERVAL_MS);

    expect(sessions.deleteEnded).toHaveBeenCalledTimes(1);
  });

  it('survives a failing purge, logs it, and tries again at the next interval', async () => {
    sessions.deleteEnded.mockRejectedValueOnce(new Error('not primary'));
    sut.onModuleInit();

    await jest.advanceTimersByTimeAsync(2 * PURGE_INTERVAL_MS);

    expect(warnings).toHaveBeenCalledWith(expect.stringContaining('not primary'));
    expect(sessions.deleteEnded).toHaveBeenCalledTimes(2);
  });
});
