/**
 * Where every instance looks, on every request, whether a session may still be used: the one lookup
 * behind "logout revokes". The database is the record either way; with Redis the per-request
 * question is asked of Redis instead.
 */
export abstract class SessionStateStore {
  /** True when access tokens of this session (and user) may be accepted now. */
  abstract isActive(sessionId: string, userId: string, now: Date): Promise<boolean>;

  /** Called after tokens are issued for a session: it stays usable until `accessTokenExpiresAt`. */
  abstract recordIssued(sessionId: string, userId: string, accessTokenExpiresAt: Date): Promise<void>;

  /** Called after the database has recorded the revocation; resolves once every instance refuses it. */
  abstract recordRevoked(sessionIds: string[]): Promise<void>;
}
