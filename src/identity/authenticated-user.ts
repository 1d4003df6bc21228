/** The caller as the guard established it from a live session; handed to handlers by @CurrentUser(). */
export interface AuthenticatedUser {
  userId: string;
  sessionId: string;
  roles: string[];
}
