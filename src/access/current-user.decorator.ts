import { createParamDecorator, UnauthorizedException, type ExecutionContext } from '@nestjs/common';
import type { HttpRequest } from '../common/http/http-request';
import type { AuthenticatedUser } from '../identity/authenticated-user';

export const CurrentUser = createParamDecorator((_data: unknown, context: ExecutionContext): AuthenticatedUser => {
  const user = context.switchToHttp().getRequest<HttpRequest>().user as AuthenticatedUser | undefined;
  // Only reachable on a route marked @Public() by mistake: refuse rather than hand over undefined.
  if (!user) throw new UnauthorizedException();
  return user;
});
