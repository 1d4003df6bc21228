import type { SessionsRepository } from '../sessions.repository';
import {
  NOW,
  SESSION_ID,
  sessionsRepositoryMock,
  USER_ID,
  type SessionsRepositoryMock,
} from '../testing/sessions.fixture';
import { DatabaseSessionState } from './database-session-state';
import type { SessionStateStore } from './session-state.store';

describe(DatabaseSessionState.name, () => {
  let repository: SessionsRepositoryMock;
  /** Used through the abstraction, as SessionsService does. */
  let sut: SessionStateStore;

  beforeEach(() => {
    repository = sessionsRepositoryMock();
    sut = new DatabaseSessionState(repository as unknown as SessionsRepository);
  });

  it.each([true, false])(
    'answers isActive with the repository liveness of that session and user (%s)',
    async (live) => {
      repository.isLive.mockResolvedValue(live);

      await expect(sut.isActive(SESSION_ID, USER_ID, NOW)).resolves.toBe(live);
      expect(repository.isLive).toHaveBeenCalledWith(SESSION_ID, USER_ID, NOW);
    },
  );

  it('propagates a database failure instead of answering isActive', async () => {
    repository.isLive.mockRejectedValue(Object.assign(new Error('no primary'), { name: 'MongoServerSelectionError' }));

    await expect(sut.isActive(SESSION_ID, USER_ID, NOW)).rejects.toThrow('no primary');
  });

  it('writes nothing when tokens are issued or sessions revoked: the session documents already say it', async () => {
    await expect(sut.recordIssued(SESSION_ID, USER_ID, NOW)).resolves.toBeUndefined();
    await expect(sut.recordRevoked([SESSION_ID])).resolves.toBeUndefined();

    for (const method of Object.values(repository)) expect(method).not.toHaveBeenCalled();
  });
});
