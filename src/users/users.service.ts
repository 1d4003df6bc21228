import {
  ConflictException,
  ForbiddenException,
  Inject,
  Injectable,
  Logger,
  UnauthorizedException,
  type OnApplicationBootstrap,
} from '@nestjs/common';
import { usersConfig, type UsersConfig } from '../config';
import { PasswordHasher } from '../crypto/password-hasher.service';
import { TokenCrypto } from '../crypto/token-crypto.service';
import { LoginThrottleService, refundIfBusy } from '../login-throttle/login-throttle.service';
import { AuditLogger } from '../logging/audit-logger.service';
import { SessionsService } from '../sessions/sessions.service';
import { ROLE_ADMIN, ROLE_USER, toUsernameKey } from './schemas/user.schema';
import type { UserAccount } from './user-account';
import { DuplicateUsernameError, UsersRepository, type UserRecord } from './users.repository';

@Injectable()
export class UsersService implements OnApplicationBootstrap {
  private readonly logger = new Logger(UsersService.name);

  constructor(
    private readonly usersRepository: UsersRepository,
    private readonly passwordHasher: PasswordHasher,
    private readonly sessionsService: SessionsService,
    private readonly audit: AuditLogger,
    private readonly passwordThrottle: LoginThrottleService,
    @Inject(usersConfig.KEY) private readonly config: UsersConfig,
    private readonly crypto: TokenCrypto,
  ) {}

  async onApplicationBootstrap(): Promise<void> {
    const admin = this.config.bootstrapAdmin;
    if (!admin) return;
    const existing = await this.usersRepository.findByUsernameKey(toUsernameKey(admin.username));
    if (existing) {
      if (!existing.roles.includes(ROLE_ADMIN)) {
        this.logger.warn(
          `ADMIN_USERNAME "${admin.username}" names an existing user who is not an administrator: no administrator was created and the user was left unchanged`,
        );
      }
      return;
    }
    try {
      await this.createUser(admin.username, admin.password, [ROLE_ADMIN, ROLE_USER]);
      this.logger.log(`Created the first administrator "${admin.username}" from ADMIN_USERNAME`);
    } catch (error) {
      // Another instance sharing the database created it first.
      if (!(error instanceof DuplicateUsernameError)) throw error;
    }
  }

  async register(username: string, password: string): Promise<UserAccount> {
    try {
      return toUserAccount(await this.createUser(username, password, [ROLE_USER]));
    } catch (error) {
      if (error instanceof DuplicateUsernameError) throw new ConflictException('Username is already taken');
      throw error;
    }
  }

  /**
   * The user when the password matches, otherwise null. An unknown username costs one argon2
   * verification too, so the answer's timing does not tell whether the account exists.
   */
  async verifyCredentials(username: string, password: string): Promise<UserAccount | null> {
    const user = await this.usersRepository.findByUsernameKey(toUsernameKey(username));
    if (!user) return this.passwordHasher.verifyAgainstDummy(password).then(() => null);
    return (await this.passwordHasher.verify(user.passwordHash, password)) ? toUserAccount(user) : null;
  }

  /** For audit lines: which account a name designates, without saying why a login failed. */
  async findIdByUsername(username: string): Promise<string | null> {
    return (await this.usersRepository.findByUsernameKey(toUsernameKey(username)))?._id.toHexString() ?? null;
  }

  async findById(id: string): Promise<UserAccount | null> {
    const user = await this.usersRepository.findById(id);
    return user ? toUserAccount(user) : null;
  }

  /**
   * Whether the user still exists with the credentials version a login checked its password against.
   * Asked after the login created its session: a password change or deletion that ran meanwhile has
   * either seen that session (and revoked it) or is seen here.
   */
  async credentialsUnchanged(userId: string, credentialsVersion: string | null): Promise<boolean> {
    const current = await this.usersRepository.findCredentialsVersion(userId);
    return current !== undefined && current === credentialsVersion;
  }

  /**
   * Changes the password and revokes every other session: whoever else holds a token of this
   * account (the reason passwords get changed) is signed out; the caller's session stays. A login
   * still checking the old password meanwhile finds the new credentials version and fails.
   */
  async changePassword(
    userId: string,
    currentSessionId: string,
    currentPassword: string,
    newPassword: string,
    clientIp: string | null,
  ): Promise<void> {
    const user = await this.usersRepository.findById(userId);
    if (!user) throw new UnauthorizedException();
    // A stolen access token must not become a way to guess the password: same brake as login.
    const refund = await this.passwordThrottle.beginAttempt(user.usernameKey, clientIp);
    const verified = await this.passwordHasher.verify(user.passwordHash, currentPassword).catch(refundIfBusy(refund));
    if (!verified) {
      throw new ForbiddenException('Current password is incorrect');
    }
    await this.passwordThrottle.recordSuccess(user.usernameKey, clientIp);
    const credentialsVersion = this.crypto.randomId();
    const passwordHash = await this.passwordHasher.hash(newPassword);
    if (!(await this.usersRepository.updatePassword(userId, passwordHash, credentialsVersion))) {
      throw new UnauthorizedException();
    }
    await this.sessionsService.updateCredentialsVersion(currentSessionId, credentialsVersion);
    await this.sessionsService.revokeAllOfUser(userId, 'password_changed', currentSessionId);
    this.audit.record('password_changed', { userId, sessionId: currentSessionId });
  }

  /**
   * Every session is revoked before the user goes, and again after: a login that checked the password
   * just before the deletion either created its session in time for the second sweep or finds no user.
   */
  async deleteAccount(userId: string): Promise<void> {
    await this.sessionsService.revokeAllOfUser(userId, 'user_deleted');
    await this.usersRepository.deleteById(userId);
    this.audit.record('account_deleted', { userId });
    await this.sessionsService.deleteAllOfUser(userId);
  }

  async list(): Promise<UserAccount[]> {
    return (await this.usersRepository.listByCreation()).map(toUserAccount);
  }

  private async createUser(username: string, password: string, roles: string[]): Promise<UserRecord> {
    const passwordHash = await this.passwordHasher.hash(password);
    return this.usersRepository.create({
      username,
      usernameKey: toUsernameKey(username),
      passwordHash,
      roles,
      credentialsVersion: this.crypto.randomId(),
    });
  }
}

function toUserAccount(user: UserRecord): UserAccount {
  return {
    id: user._id.toHexString(),
    username: user.username,
    roles: user.roles,
    // Users stored before credentials versions existed have no field at all.
    credentialsVersion: user.credentialsVersion ?? null,
    createdAt: user.createdAt,
  };
}
