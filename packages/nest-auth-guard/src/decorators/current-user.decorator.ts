import { createParamDecorator, type ExecutionContext } from '@nestjs/common';
import { principalOf, type AuthPrincipal } from '../auth-principal';
import { unauthorized } from '../http-refusals';

/** The authenticated caller of the route, as the guard verified it. */
export const CurrentUser = createParamDecorator((_data: unknown, context: ExecutionContext): AuthPrincipal => {
  const http = context.switchToHttp();
  const principal = principalOf(http.getRequest<object>());
  // Only reachable on a @Public() route: refuse rather than hand the handler undefined.
  if (!principal) throw unauthorized(http.getResponse<unknown>(), false);
  return principal;
});
