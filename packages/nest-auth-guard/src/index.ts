export { AuthGuardModule, type AuthGuardModuleAsyncOptions } from './auth-guard.module';
export {
  AUTH_GUARD_OPTIONS,
  DEFAULT_ALGORITHMS,
  SUPPORTED_ALGORITHMS,
  resolveAuthGuardOptions,
  type AuthGuardAlgorithm,
  type AuthGuardOptions,
  type FetchFunction,
  type ResolvedAuthGuardOptions,
} from './auth-guard.options';
export { AuthGuard } from './auth.guard';
export { AccessTokenVerifier, MAX_TOKEN_LENGTH, type VerificationResult } from './access-token.verifier';
export { RevocationFeedClient, type RevocationFeedStatus } from './revocation-feed.client';
export { ACCESS_TOKEN_COOKIE, extractAccessToken } from './access-token.extractor';
export { ACCESS_TOKEN_EXPIRED } from './http-refusals';
export type { AuthPrincipal } from './auth-principal';
export { Auth } from './decorators/auth.decorator';
export { CurrentUser } from './decorators/current-user.decorator';
export { IS_PUBLIC_KEY, Public } from './decorators/public.decorator';
export { ROLES_KEY, Roles } from './decorators/roles.decorator';
