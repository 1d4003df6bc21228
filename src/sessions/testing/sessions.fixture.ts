import { AuditLogger } from '../../logging/audit-logger.service';
import { Types } from 'mongoose';
import type { AuthConfig } from '../../config';
import { makeAuthConfig } from '../../config/testing/auth-config.fixture';
import { TokenCrypto } from '../../crypto/token-crypto.service';
import { RefreshTokenCodec } from '../refresh-token.codec';
import type { RotationAttempt, SessionLedger } from '../session-ledger';
import type { SessionRevocationsRepository } from '../session-revocations.repository';
import type { SessionRecord } from '../sessions.repository';
import { SessionsService, type ClientInfo } from '../sessions.service';
import type { SessionStateStore } from '../state/session-state.store';

export const HOUR = 3_600_000;
export const GRACE_MS = 10_000;

/** Short windows so that idle and absolute expiry are easy to tell apart. */
export const sessionsConfig = makeAuthConfig({
  refreshTokenTtlMs: 2 * HOUR,
  sessionMaxLifetimeMs: 10 * HOUR,
  refreshReuseGraceMs: GRACE_MS,
});

export const NOW = new Date('2030-01-01T12:00:00.000Z');
export const USER_ID = '6650f0c2a1b2c3d4e5f60718';
export const OTHER_USER_ID = '6650f0c2a1b2c3d4e5f60720';
export const SESSION_ID = '6650f0c2a1b2c3d4e5f60719';
export const CREDENTIALS_VERSION = 'credentials-v1';
export const CLIENT: ClientInfo = { userAgent: 'Mozilla/5.0 (X11; Linux x86_64)', ip: '203.0.113.7' };

/** The Clock of the services built here: it stands at NOW. */
export const clock = { now: () => NOW.getTime() };

export function at(offsetMs: number): Date {
  return new Date(NOW.getTime() + offsetMs);
}

/** A live session of USER_ID as the ledger returns it; override what a spec is about. */
export function sessionRecord(overrides: Partial<SessionRecord> = {}): SessionRecord {
  return {
    _id: new Types.ObjectId(SESSION_ID),
    userId: new Types.ObjectId(USER_ID),
    generation: 0,
    lastUsedAt: NOW,
    rotatedAt: null,
    idleExpiresAt: at(sessionsConfig.refreshTokenTtlMs),
    absoluteExpiresAt: at(sessionsConfig.sessionMaxLifetimeMs),
    revokedAt: null,
    userAgent: CLIENT.userAgent,
    ip: CLIENT.ip,
    credentialsVersion: CREDENTIALS_VERSION,
    createdAt: NOW,
    ...overrides,
  };
}

export type SessionLedgerMock = jest.Mocked<
  Pick<
    SessionLedger,
    | 'create'
    | 'isLive'
    | 'rotateRefreshToken'
    | 'findById'
    | 'revoke'
    | 'revokeLiveOfUser'
    | 'revokeAllOfUser'
    | 'isRevokedOfUser'
    | 'updateCredentialsVersion'
    | 'listLiveOfUser'
    | 'deleteAllOfUser'
  >
>;

export function sessionLedgerMock(): SessionLedgerMock {
  return {
    create: jest.fn(),
    isLive: jest.fn(),
    // What the ledger answers for a token that is not the session's current one.
    rotateRefreshToken: jest.fn().mockResolvedValue({ status: 'stale' } satisfies RotationAttempt),
    findById: jest.fn().mockResolvedValue(null),
    revoke: jest.fn().mockResolvedValue(true),
    revokeLiveOfUser: jest.fn().mockResolvedValue(false),
    revokeAllOfUser: jest.fn().mockResolvedValue([]),
    isRevokedOfUser: jest.fn().mockResolvedValue(false),
    updateCredentialsVersion: jest.fn().mockResolvedValue(undefined),
    listLiveOfUser: jest.fn().mockResolvedValue([]),
    deleteAllOfUser: jest.fn().mockResolvedValue(undefined),
  };
}

export type SessionStateMock = jest.Mocked<Pick<SessionStateStore, 'isActive' | 'recordIssued' | 'recordRevoked'>>;

export function sessionStateMock(): SessionStateMock {
  return {
    isActive: jest.fn(),
    recordIssued: jest.fn().mockResolvedValue(undefined),
    recordRevoked: jest.fn().mockResolvedValue(undefined),
  };
}

export interface SessionsServiceHarness {
  ledger: SessionLedgerMock;
  state: SessionStateMock;
  /** The real codec, keyed with sessionsConfig: encodes the tokens a spec presents. */
  codec: RefreshTokenCodec;
  /** A SessionsService over these mocks and codec. */
  sut: SessionsService;
  /** Another SessionsService over the same mocks and codec, with sessionsConfig and `overrides`. */
  createSut: (overrides?: Partial<AuthConfig>) => SessionsService;
}

/** Fresh mocks, the real codec, and the service under test built from sessionsConfig and `overrides`; call it in beforeEach. */
export function sessionsServiceHarness(overrides: Partial<AuthConfig> = {}): SessionsServiceHarness {
  const ledger = sessionLedgerMock();
  const state = sessionStateMock();
  const revocationRecords = { listRevokedSince: jest.fn().mockResolvedValue([]) };
  const codec = new RefreshTokenCodec(new TokenCrypto(), sessionsConfig);
  const createSut = (configOverrides: Partial<AuthConfig> = {}): SessionsService =>
    new SessionsService(
      ledger as unknown as SessionLedger,
      revocationRecords as unknown as SessionRevocationsRepository,
      codec,
      state as unknown as SessionStateStore,
      new AuditLogger(),
      { ...sessionsConfig, ...configOverrides },
      clock,
    );
  return { ledger, state, codec, sut: createSut(overrides), createSut };
}
