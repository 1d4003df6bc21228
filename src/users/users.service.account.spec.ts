import { ForbiddenException, HttpStatus, UnauthorizedException } from '@nestjs/common';
import { StateStoreUnavailableError } from '../common/exceptions/state-store-unavailable.error';
import { TooManyRequestsException } from '../common/exceptions/too-many-requests.exception';
import { UsersService } from './users.service';
import {
  ALICE,
  ALICE_ID,
  createUsersService,
  PASSWORD,
  NEW_CREDENTIALS_VERSION,
  PASSWORD_HASH,
  usersServiceMocks,
  type UsersServiceMocks,
} from './testing/users.fixture';

const CURRENT_SESSION_ID = '6650f0c2a1b2c3d4e5f60719';
const NEW_PASSWORD = 'a much longer new passphrase';
const CLIENT_IP = '203.0.113.7';
const NEW_HASH = '$argon2id$v=19$m=19456,t=2,p=1$bmV3c2FsdA$bmV3aGFzaA';

/** What the account owner does to their own account: change the password, delete the account. */
describe(UsersService.name, () => {
  let repository: UsersServiceMocks['repository'];
  let hasher: UsersServiceMocks['hasher'];
  let sessionsService: UsersServiceMocks['sessionsService'];
  let passwordThrottle: UsersServiceMocks['passwordThrottle'];
  let sut: UsersService;

  beforeEach(() => {
    const mocks = usersServiceMocks();
    ({ repository, hasher, sessionsService, passwordThrottle } = mocks);
    hasher.hash.mockResolvedValue(NEW_HASH);
    sut = createUsersService(mocks);
  });

  describe('changePassword', () => {
    function changePassword(currentPassword = PASSWORD) {
      return sut.changePassword(ALICE_ID, CURRENT_SESSION_ID, currentPassword, NEW_PASSWORD, CLIENT_IP);
    }

    it("refuses with the throttle's 429 before checking the password when this address guessed too often", async () => {
      repository.findById.mockResolvedValue(ALICE);
      passwordThrottle.beginAttempt.mockRejectedValue(new TooManyRequestsException(60));

      await expect(changePassword()).rejects.toBeInstanceOf(TooManyRequestsException);
      expect(passwordThrottle.beginAttempt).toHaveBeenCalledWith(ALICE.usernameKey, CLIENT_IP);
      expect(hasher.verify).not.toHaveBeenCalled();
      expect(repository.updatePassword).not.toHaveBeenCalled();
    });

    it('leaves a wrong current password counted as a guess for this username and address', async () => {
      repository.findById.mockResolvedValue(ALICE);
      hasher.verify.mockResolvedValue(false);

      await expect(changePassword('wrong-password')).rejects.toBeInstanceOf(ForbiddenException);
      expect(passwordThrottle.beginAttempt).toHaveBeenCalledWith(ALICE.usernameKey, CLIENT_IP);
      expect(passwordThrottle.recordSuccess).not.toHaveBeenCalled();
    });

    it('clears the count once the current password proved right', async () => {
      repository.findById.mockResolvedValue(ALICE);
      hasher.verify.mockResolvedValue(true);

      await changePassword();

      expect(passwordThrottle.recordSuccess).toHaveBeenCalledWith(ALICE.usernameKey, CLIENT_IP);
      expect(hasher.verify.mock.invocationCallOrder[0]).toBeLessThan(
        passwordThrottle.recordSuccess.mock.invocationCallOrder[0],
      );
    });

    it('answers 401 when the user no longer exists, and changes nothing', async () => {
      repository.findById.mockResolvedValue(null);

      await expect(changePassword()).rejects.toBeInstanceOf(UnauthorizedException);
      expect(repository.updatePassword).not.toHaveBeenCalled();
      expect(sessionsService.revokeAllOfUser).not.toHaveBeenCalled();
    });

    it('verifies the current password against the stored hash', async () => {
      repository.findById.mockResolvedValue(ALICE);
      hasher.verify.mockResolvedValue(true);

      await changePassword();

      expect(repository.findById).toHaveBeenCalledWith(ALICE_ID);
      expect(hasher.verify).toHaveBeenCalledWith(PASSWORD_HASH, PASSWORD);
    });

    it("answers 403 'Current password is incorrect' for a wrong current password, and changes nothing", async () => {
      repository.findById.mockResolvedValue(ALICE);
      hasher.verify.mockResolvedValue(false);

      const error: unknown = await changePassword('not the password').catch((caught: unknown) => caught);

      expect(error).toBeInstanceOf(ForbiddenException);
      expect((error as ForbiddenException).getStatus()).toBe(HttpStatus.FORBIDDEN);
      expect((error as ForbiddenException).message).toBe('Current password is incorrect');
      expect(repository.updatePassword).not.toHaveBeenCalled();
      expect(sessionsService.revokeAllOfUser).not.toHaveBeenCalled();
    });

    it('stores the hash of the new password, never the password itself, with a new credentials version', async () => {
      repository.findById.mockResolvedValue(ALICE);
      hasher.verify.mockResolvedValue(true);

      await changePassword();

      expect(hasher.hash).toHaveBeenCalledWith(NEW_PASSWORD);
      expect(repository.updatePassword).toHaveBeenCalledWith(ALICE_ID, NEW_HASH, NEW_CREDENTIALS_VERSION);
      expect(NEW_CREDENTIALS_VERSION).not.toBe(ALICE.credentialsVersion);
      expect(JSON.stringify(repository.updatePassword.mock.calls)).not.toContain(NEW_PASSWORD);
    });

    it("revokes every other session of the user with reason 'password_changed', keeping the caller's", async () => {
      repository.findById.mockResolvedValue(ALICE);
      hasher.verify.mockResolvedValue(true);

      await changePassword();

      expect(sessionsService.revokeAllOfUser).toHaveBeenCalledTimes(1);
      expect(sessionsService.revokeAllOfUser).toHaveBeenCalledWith(ALICE_ID, 'password_changed', CURRENT_SESSION_ID);
    });

    it("keeps the caller's session working under the new version before revoking the others", async () => {
      repository.findById.mockResolvedValue(ALICE);
      hasher.verify.mockResolvedValue(true);

      await changePassword();

      expect(sessionsService.updateCredentialsVersion).toHaveBeenCalledWith(
        CURRENT_SESSION_ID,
        NEW_CREDENTIALS_VERSION,
      );
      // The version is stored first, so that a login racing with the change finds it; the sweep comes
      // last, so that it also catches a session such a login created meanwhile.
      const order = [
        hasher.verify,
        passwordThrottle.recordSuccess,
        repository.updatePassword,
        sessionsService.updateCredentialsVersion,
        sessionsService.revokeAllOfUser,
      ].map((mock) => mock.mock.invocationCallOrder[0]);
      expect(order).toEqual([...order].sort((a, b) => a - b));
    });

    it('answers 401 and touches no session when the user disappeared before the new password was stored', async () => {
      repository.findById.mockResolvedValue(ALICE);
      hasher.verify.mockResolvedValue(true);
      repository.updatePassword.mockResolvedValue(false);

      await expect(changePassword()).rejects.toBeInstanceOf(UnauthorizedException);
      expect(sessionsService.updateCredentialsVersion).not.toHaveBeenCalled();
      expect(sessionsService.revokeAllOfUser).not.toHaveBeenCalled();
    });

    it('fails, rather than reporting success, when the other sessions cannot be revoked', async () => {
      repository.findById.mockResolvedValue(ALICE);
      hasher.verify.mockResolvedValue(true);
      sessionsService.revokeAllOfUser.mockRejectedValue(new StateStoreUnavailableError('Redis: Connection is closed.'));

      await expect(changePassword()).rejects.toBeInstanceOf(StateStoreUnavailableError);
    });
  });

  describe('deleteAccount', () => {
    it("revokes every session with reason 'user_deleted' before deleting the user, then deletes the sessions", async () => {
      await sut.deleteAccount(ALICE_ID);

      expect(sessionsService.revokeAllOfUser).toHaveBeenCalledWith(ALICE_ID, 'user_deleted');
      expect(repository.deleteById).toHaveBeenCalledWith(ALICE_ID);
      expect(sessionsService.deleteAllOfUser).toHaveBeenCalledWith(ALICE_ID);
      // The sweep after the deletion catches a session that a login racing with it created meanwhile.
      expect(sessionsService.revokeAllOfUser.mock.invocationCallOrder[0]).toBeLessThan(
        repository.deleteById.mock.invocationCallOrder[0],
      );
      expect(repository.deleteById.mock.invocationCallOrder[0]).toBeLessThan(
        sessionsService.deleteAllOfUser.mock.invocationCallOrder[0],
      );
    });

    it('keeps the user when the sessions could not be revoked, so that the request can be repeated', async () => {
      sessionsService.revokeAllOfUser.mockRejectedValue(new StateStoreUnavailableError('Redis: Command timed out'));

      await expect(sut.deleteAccount(ALICE_ID)).rejects.toBeInstanceOf(StateStoreUnavailableError);
      expect(repository.deleteById).not.toHaveBeenCalled();
    });

    it('waits for the sessions to be revoked before deleting the user', async () => {
      let finishRevocation!: () => void;
      sessionsService.revokeAllOfUser.mockReturnValue(new Promise<void>((resolve) => (finishRevocation = resolve)));

      const deletion = sut.deleteAccount(ALICE_ID);
      await Promise.resolve();
      expect(repository.deleteById).not.toHaveBeenCalled();

      finishRevocation();
      await deletion;
      expect(repository.deleteById).toHaveBeenCalledWith(ALICE_ID);
    });
  });
});
