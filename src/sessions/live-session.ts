/**
 * A live session as the sessions service lists it for its user: what a session list shows, nothing of
 * its refresh token, generation or expiry. The id is a string, the `sid` of the session's access tokens.
 */
export interface LiveSession {
  id: string;
  /** The login. */
  createdAt: Date;
  /** The login or the last refresh. */
  lastUsedAt: Date;
  userAgent: string | null;
  ip: string | null;
}
