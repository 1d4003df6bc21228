import { ConflictException, HttpStatus, Logger } from '@nestjs/common';
import { Types } from 'mongoose';
import type { UsersConfig } from '../config';
import { DuplicateUsernameError } from './users.repository';
import { UsersService } from './users.service';
import {
  ALICE,
  ALICE_ACCOUNT,
  ALICE_ID,
  createUsersService,
  NEW_CREDENTIALS_VERSION,
  PASSWORD,
  PASSWORD_HASH,
  usersServiceMocks,
  type UsersServiceMocks,
} from './testing/users.fixture';

const BOB_ID = '6650f0c2a1b2c3d4e5f6071b';

/** Registration, credentials, the accounts handed out and the first administrator. Password change and deletion: users.service.account.spec.ts. */
describe(UsersService.name, () => {
  let repository: UsersServiceMocks['repository'];
  let hasher: UsersServiceMocks['hasher'];
  let mocks: UsersServiceMocks;

  function createSut(config?: UsersConfig): UsersService {
    return createUsersService(mocks, config);
  }

  beforeEach(() => {
    jest.spyOn(Logger.prototype, 'log').mockImplementation(() => undefined);
    mocks = usersServiceMocks();
    ({ repository, hasher } = mocks);
  });

  afterEach(() => jest.restoreAllMocks());

  describe('register', () => {
    it('stores the hash, never the password, with roles ["user"] and a first credentials version', async () => {
      const sut = createSut();

      await sut.register('Alice', PASSWORD);

      expect(hasher.hash).toHaveBeenCalledWith(PASSWORD);
      expect(repository.create).toHaveBeenCalledWith({
        username: 'Alice',
        usernameKey: 'alice',
        passwordHash: PASSWORD_HASH,
        roles: ['user'],
        credentialsVersion: NEW_CREDENTIALS_VERSION,
      });
      expect(JSON.stringify(repository.create.mock.calls[0][0])).not.toContain(PASSWORD);
    });

    it('stores the NFKC-normalised, lower-cased username as the uniqueness key', async () => {
      const sut = createSut();

      await sut.register('\uFF21\uFF2C\uFF29\uFF23\uFF25_1', PASSWORD); // full-width "ALICE"

      expect(repository.create).toHaveBeenCalledWith(expect.objectContaining({ usernameKey: 'alice_1' }));
    });

    it('answers a duplicate username with 409 Conflict', async () => {
      repository.create.mockRejectedValue(new DuplicateUsernameError('alice'));
      const sut = createSut();

      const error: unknown = await sut.register('ALICE', PASSWORD).catch((caught: unknown) => caught);

      expect(error).toBeInstanceOf(ConflictException);
      expect((error as ConflictException).getStatus()).toBe(HttpStatus.CONFLICT);
    });

    it('passes any other repository failure through unchanged', async () => {
      const failure = Object.assign(new Error('server selection timed out'), { name: 'MongoServerSelectionError' });
      repository.create.mockRejectedValue(failure);
      const sut = createSut();

      await expect(sut.register('alice', PASSWORD)).rejects.toBe(failure);
    });
  });

  describe('verifyCredentials', () => {
    it('looks the user up by the normalised username key', async () => {
      repository.findByUsernameKey.mockResolvedValue(null);
      const sut = createSut();

      await sut.verifyCredentials('ALICE', PASSWORD);

      expect(repository.findByUsernameKey).toHaveBeenCalledWith('alice');
    });

    it('spends a dummy verification on an unknown user and returns null', async () => {
      repository.findByUsernameKey.mockResolvedValue(null);
      const sut = createSut();

      await expect(sut.verifyCredentials('nobody', PASSWORD)).resolves.toBeNull();
      expect(hasher.verifyAgainstDummy).toHaveBeenCalledWith(PASSWORD);
      expect(hasher.verify).not.toHaveBeenCalled();
    });

    it('returns null for a wrong password, verified against the stored hash', async () => {
      repository.findByUsernameKey.mockResolvedValue(ALICE);
      hasher.verify.mockResolvedValue(false);
      const sut = createSut();

      await expect(sut.verifyCredentials('alice', 'wrong password')).resolves.toBeNull();
      expect(hasher.verify).toHaveBeenCalledWith(PASSWORD_HASH, 'wrong password');
    });

    it('returns the user for the right password', async () => {
      repository.findByUsernameKey.mockResolvedValue(ALICE);
      hasher.verify.mockResolvedValue(true);
      const sut = createSut();

      await expect(sut.verifyCredentials('alice', PASSWORD)).resolves.toEqual(ALICE_ACCOUNT);
      expect(hasher.verifyAgainstDummy).not.toHaveBeenCalled();
    });
  });

  describe('the accounts it hands out', () => {
    it('never carry the password hash or the username key, and carry the id as a string', async () => {
      repository.findById.mockResolvedValue(ALICE);
      const sut = createSut();

      const account = await sut.findById(ALICE_ID);

      expect(account).toEqual(ALICE_ACCOUNT);
      expect(Object.keys(account!).sort()).toEqual(['createdAt', 'credentialsVersion', 'id', 'roles', 'username']);
    });

    it('answers null for an unknown id', async () => {
      repository.findById.mockResolvedValue(null);
      const sut = createSut();

      await expect(sut.findById(ALICE_ID)).resolves.toBeNull();
    });

    it('gives a user stored before credentials versions existed the version null', async () => {
      const { credentialsVersion: _omitted, ...stored } = ALICE;
      repository.findById.mockResolvedValue(stored as typeof ALICE);
      const sut = createSut();

      await expect(sut.findById(ALICE_ID)).resolves.toEqual({ ...ALICE_ACCOUNT, credentialsVersion: null });
    });

    it('returns the registered account with its first credentials version', async () => {
      const sut = createSut();

      await expect(sut.register('Alice', PASSWORD)).resolves.toEqual({
        ...ALICE_ACCOUNT,
        credentialsVersion: NEW_CREDENTIALS_VERSION,
      });
    });

    it("lists every account in the repository's order", async () => {
      const bob = { ...ALICE, _id: new Types.ObjectId(BOB_ID), username: 'Bob', usernameKey: 'bob' };
      repository.listByCreation.mockResolvedValue([ALICE, bob]);
      const sut = createSut();

      await expect(sut.list()).resolves.toEqual([ALICE_ACCOUNT, { ...ALICE_ACCOUNT, id: BOB_ID, username: 'Bob' }]);
    });
  });

  describe('credentialsUnchanged', () => {
    it.each<[string, string | null | undefined, string | null, boolean]>([
      ['the same version', 'credentials-v1', 'credentials-v1', true],
      ['no version on either side (a user stored before versions existed)', null, null, true],
      ['another version (the password changed)', 'credentials-v2', 'credentials-v1', false],
      ['a version where the login saw none', 'credentials-v1', null, false],
      ['no user any more (deleted)', undefined, 'credentials-v1', false],
      ['no user any more, for a login that saw no version', undefined, null, false],
    ])('answers %s with %p', async (_label, stored, seen, expected) => {
      repository.findCredentialsVersion.mockResolvedValue(stored);
      const sut = createSut();

      await expect(sut.credentialsUnchanged(ALICE_ID, seen)).resolves.toBe(expected);
      expect(repository.findCredentialsVersion).toHaveBeenCalledWith(ALICE_ID);
    });
  });

  describe('onApplicationBootstrap', () => {
    const admin = { username: 'Root', password: 'admin-password-1' };

    it('does nothing when no administrator is configured', async () => {
      const sut = createSut({ bootstrapAdmin: undefined });

      await sut.onApplicationBootstrap();

      expect(repository.findByUsernameKey).not.toHaveBeenCalled();
      expect(repository.create).not.toHaveBeenCalled();
    });

    it('creates the configured administrator with roles ["admin","user"] when absent', async () => {
      repository.findByUsernameKey.mockResolvedValue(null);
      const sut = createSut({ bootstrapAdmin: admin });

      await sut.onApplicationBootstrap();

      expect(repository.findByUsernameKey).toHaveBeenCalledWith('root');
      expect(hasher.hash).toHaveBeenCalledWith(admin.password);
      expect(repository.create).toHaveBeenCalledWith({
        username: 'Root',
        usernameKey: 'root',
        passwordHash: PASSWORD_HASH,
        roles: ['admin', 'user'],
        credentialsVersion: NEW_CREDENTIALS_VERSION,
      });
    });

    it('leaves an existing user of that name alone', async () => {
      repository.findByUsernameKey.mockResolvedValue({ ...ALICE, username: 'root', usernameKey: 'root' });
      const sut = createSut({ bootstrapAdmin: admin });

      await sut.onApplicationBootstrap();

      expect(repository.create).not.toHaveBeenCalled();
      expect(hasher.hash).not.toHaveBeenCalled();
    });

    // Otherwise an operator who set ADMIN_USERNAME believes there is an administrator when there is none.
    it('warns once, naming the user, when that existing user is not an administrator', async () => {
      const warn = jest.spyOn(Logger.prototype, 'warn').mockImplementation(() => undefined);
      repository.findByUsernameKey.mockResolvedValue({ ...ALICE, username: 'root', usernameKey: 'root' });
      const sut = createSut({ bootstrapAdmin: admin });

      await sut.onApplicationBootstrap();

      expect(warn).toHaveBeenCalledTimes(1);
      expect(warn).toHaveBeenCalledWith(expect.stringContaining('"Root"'));
      expect(warn).toHaveBeenCalledWith(expect.stringContaining('not an administrator'));
    });

    it('does not warn when the existing user is an administrator', async () => {
      const warn = jest.spyOn(Logger.prototype, 'warn').mockImplementation(() => undefined);
      repository.findByUsernameKey.mockResolvedValue({ ...ALICE, username: 'root', roles: ['admin', 'user'] });
      const sut = createSut({ bootstrapAdmin: admin });

      await sut.onApplicationBootstrap();

      expect(warn).not.toHaveBeenCalled();
      expect(repository.create).not.toHaveBeenCalled();
    });

    it('tolerates another instance creating the administrator concurrently', async () => {
      repository.findByUsernameKey.mockResolvedValue(null);
      repository.create.mockRejectedValue(new DuplicateUsernameError('root'));
      const sut = createSut({ bootstrapAdmin: admin });

      await expect(sut.onApplicationBootstrap()).resolves.toBeUndefined();
    });

    it('lets any other failure stop the start-up', async () => {
      repository.findByUsernameKey.mockResolvedValue(null);
      repository.create.mockRejectedValue(new Error('disk full'));
      const sut = createSut({ bootstrapAdmin: admin });

      await expect(sut.onApplicationBootstrap()).rejects.toThrow('disk full');
    });
  });
});
