import { ConflictException, HttpStatus, Logger } from '@nestjs/common';
import { Types } from 'mongoose';
import type { UsersConfig } from '../config';
import type { PasswordHasher } from '../crypto/password-hasher.service';
import { DuplicateUsernameError, type UserRecord, type UsersRepository } from './users.repository';
import { UsersService } from './users.service';

const PASSWORD = 'correct horse battery staple';
const PASSWORD_HASH = '$argon2id$v=19$m=19456,t=2,p=1$c2FsdHNhbHQ$aGFzaGhhc2g';
const ALICE: UserRecord = {
  _id: new Types.ObjectId('6650f0c2a1b2c3d4e5f60718'),
  username: 'Alice',
  usernameKey: 'alice',
  passwordHash: PASSWORD_HASH,
  roles: ['user'],
  createdAt: new Date('2030-01-01T00:00:00.000Z'),
};

describe(UsersService.name, () => {
  let repository: jest.Mocked<Pick<UsersRepository, 'create' | 'findByUsernameKey' | 'findById' | 'listByCreation'>>;
  let hasher: jest.Mocked<Pick<PasswordHasher, 'hash' | 'verify' | 'verifyAgainstDummy'>>;

  function createSut(config: UsersConfig = { bootstrapAdmin: undefined }): UsersService {
    return new UsersService(repository as unknown as UsersRepository, hasher as unknown as PasswordHasher, config);
  }

  beforeEach(() => {
    jest.spyOn(Logger.prototype, 'log').mockImplementation(() => undefined);
    repository = {
      create: jest.fn((user) => Promise.resolve({ ...ALICE, ...user })),
      findByUsernameKey: jest.fn(),
      findById: jest.fn(),
      listByCreation: jest.fn(),
    };
    hasher = {
      hash: jest.fn().mockResolvedValue(PASSWORD_HASH),
      verify: jest.fn(),
      verifyAgainstDummy: jest.fn().mockResolvedValue(false),
    };
  });

  afterEach(() => jest.restoreAllMocks());

  describe('register', () => {
    it('stores the hash, never the password, with roles ["user"]', async () => {
      const sut = createSut();

      await sut.register('Alice', PASSWORD);

      expect(hasher.hash).toHaveBeenCalledWith(PASSWORD);
      expect(repository.create).toHaveBeenCalledWith({
        username: 'Alice',
        usernameKey: 'alice',
        passwordHash: PASSWORD_HASH,
        roles: ['user'],
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

      await expect(sut.verifyCredentials('alice', PASSWORD)).resolves.toBe(ALICE);
      expect(hasher.verifyAgainstDummy).not.toHaveBeenCalled();
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
      });
    });

    it('leaves an existing user of that name alone', async () => {
      repository.findByUsernameKey.mockResolvedValue({ ...ALICE, username: 'root', usernameKey: 'root' });
      const sut = createSut({ bootstrapAdmin: admin });

      await sut.onApplicationBootstrap();

      expect(repository.create).not.toHaveBeenCalled();
      expect(hasher.hash).not.toHaveBeenCalled();
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
