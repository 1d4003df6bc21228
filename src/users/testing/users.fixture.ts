import { AuditLogger } from '../../logging/audit-logger.service';
import { Types } from 'mongoose';
import type { UsersConfig } from '../../config';
import type { PasswordHasher } from '../../crypto/password-hasher.service';
import type { TokenCrypto } from '../../crypto/token-crypto.service';
import type { LoginThrottleService } from '../../login-throttle/login-throttle.service';
import type { SessionsService } from '../../sessions/sessions.service';
import type { UserAccount } from '../user-account';
import type { UserRecord, UsersRepository } from '../users.repository';
import { UsersService } from '../users.service';

export const PASSWORD = 'correct horse battery staple';
export const PASSWORD_HASH = '$argon2id$v=19$m=19456,t=2,p=1$c2FsdHNhbHQ$aGFzaGhhc2g';
export const ALICE_ID = '6650f0c2a1b2c3d4e5f60718';
/** What the mocked TokenCrypto.randomId answers: the credentials version a new password gets. */
export const NEW_CREDENTIALS_VERSION = 'credentials-v2';
export const ALICE: UserRecord = {
  _id: new Types.ObjectId(ALICE_ID),
  username: 'Alice',
  usernameKey: 'alice',
  passwordHash: PASSWORD_HASH,
  roles: ['user'],
  credentialsVersion: 'credentials-v1',
  createdAt: new Date('2030-01-01T00:00:00.000Z'),
};
/** ALICE as the service hands her out: no hash, no username key, the id as a string. */
export const ALICE_ACCOUNT: UserAccount = {
  id: ALICE_ID,
  username: 'Alice',
  roles: ['user'],
  credentialsVersion: 'credentials-v1',
  createdAt: new Date('2030-01-01T00:00:00.000Z'),
};

export interface UsersServiceMocks {
  repository: jest.Mocked<
    Pick<
      UsersRepository,
      | 'create'
      | 'findByUsernameKey'
      | 'findById'
      | 'findCredentialsVersion'
      | 'listByCreation'
      | 'updatePassword'
      | 'deleteById'
    >
  >;
  hasher: jest.Mocked<Pick<PasswordHasher, 'hash' | 'verify' | 'verifyAgainstDummy'>>;
  sessionsService: jest.Mocked<
    Pick<SessionsService, 'revokeAllOfUser' | 'deleteAllOfUser' | 'updateCredentialsVersion'>
  >;
  passwordThrottle: jest.Mocked<Pick<LoginThrottleService, 'beginAttempt' | 'recordSuccess'>>;
  crypto: jest.Mocked<Pick<TokenCrypto, 'randomId'>>;
}

export function usersServiceMocks(): UsersServiceMocks {
  return {
    repository: {
      create: jest.fn((user) => Promise.resolve({ ...ALICE, ...user })),
      findByUsernameKey: jest.fn(),
      findById: jest.fn(),
      findCredentialsVersion: jest.fn(),
      listByCreation: jest.fn(),
      updatePassword: jest.fn().mockResolvedValue(true),
      deleteById: jest.fn().mockResolvedValue(true),
    },
    hasher: {
      hash: jest.fn().mockResolvedValue(PASSWORD_HASH),
      verify: jest.fn(),
      verifyAgainstDummy: jest.fn().mockResolvedValue(false),
    },
    sessionsService: {
      revokeAllOfUser: jest.fn().mockResolvedValue(undefined),
      deleteAllOfUser: jest.fn().mockResolvedValue(undefined),
      updateCredentialsVersion: jest.fn().mockResolvedValue(undefined),
    },
    passwordThrottle: {
      beginAttempt: jest.fn().mockResolvedValue(undefined),
      recordSuccess: jest.fn().mockResolvedValue(undefined),
    },
    crypto: { randomId: jest.fn().mockReturnValue(NEW_CREDENTIALS_VERSION) },
  };
}

export function createUsersService(
  mocks: UsersServiceMocks,
  config: UsersConfig = { bootstrapAdmin: undefined },
): UsersService {
  return new UsersService(
    mocks.repository as unknown as UsersRepository,
    mocks.hasher as unknown as PasswordHasher,
    mocks.sessionsService as unknown as SessionsService,
    new AuditLogger(),
    mocks.passwordThrottle as unknown as LoginThrottleService,
    config,
    mocks.crypto as unknown as TokenCrypto,
  );
}
