/** The caller as the guard established it from a verified, unrevoked access token. */
export interface AuthPrincipal {
  /** The user id (the token's `sub`). */
  readonly id: string;
  /** The session id (the token's `sid`, 24 lowercase hex characters). */
  readonly sessionId: string;
  readonly roles: readonly string[];
}

/**
 * Principals the guard attached, by request. @CurrentUser() reads them from here rather than from
 * `request.user`, which any middleware may have set.
 */
const principals = new WeakMap<object, AuthPrincipal>();

export function attachPrincipal(request: object, principal: AuthPrincipal): void {
  principals.set(request, principal);
  // Also where Nest and logging middleware conventionally look for the caller.
  (request as { user?: unknown }).user = principal;
}

export function principalOf(request: object): AuthPrincipal | undefined {
  return principals.get(request);
}
