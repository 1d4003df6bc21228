import type { SessionLedger } from '../session-ledger';
import { NOW, SESSION_ID, sessionLedgerMock, USER_ID, type SessionLedgerMock } from '../testing/sessions.fixture';
import { DatabaseSessionState } from './database-session-state';
import type { SessionStateStore } from './session-state.store';

describe(DatabaseSessionState.name, () => {
  let ledger: SessionLedgerMock;
  /** Used through the abstraction, as SessionsService does. */
  let sut: SessionStateStore;

  beforeEach(() => {
    ledger = sessionLedgerMock();
    sut = new DatabaseSessionState(ledger as unknown as SessionLedger);
  });

  it.each([true, false])('answers isActive with the ledger liveness of that session and user (%s)', async (live) => {
    ledger.isLive.mockResolvedValue(live);

    await expect(sut.isActive(SESSION_ID, USER_ID, NOW)).resolves.toBe(live);
    expect(ledger.isLive).toHaveBeenCalledWith(SESSION_ID, USER_ID, NOW);
  });

  it('propagates a database failure instead of answering isActive', async () => {
    ledger.isLive.mockRejectedValue(Object.assign(new Error('no primary'), { name: 'MongoServerSelectionError' }));

    await expect(sut.isActive(SESSION_ID, USER_ID, NOW)).rejects.toThrow('no primary');
  });

  it('writes nothing when tokens are issued or sessions revoked: the session documents already say it', async () => {
    await expect(sut.recordIssued(SESSION_ID, USER_ID, NOW)).resolves.toBeUndefined();
    await expect(sut.recordRevoked([SESSION_ID])).resolves.toBeUndefined();

    for (const method of Object.values(ledger)) expect(method).not.toHaveBeenCalled();
  });
});
