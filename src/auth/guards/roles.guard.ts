import { ForbiddenException, Injectable, type CanActivate, type ExecutionContext } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import type { HttpRequest } from '../../common/http/http-request';
import type { AuthenticatedUser } from '../../identity/authenticated-user';
import { ROLES_KEY } from '../../access/roles.decorator';

/** Runs after JwtAuthGuard (registered after it); only routes with @Roles/@Auth(roles) are affected. */
@Injectable()
export class RolesGuard implements CanActivate {
  constructor(private readonly reflector: Reflector) {}

  canActivate(context: ExecutionContext): boolean {
    const required = this.reflector.getAllAndOverride<string[] | undefined>(ROLES_KEY, [
      context.getHandler(),
      context.getClass(),
    ]);
    if (!required?.length) return true;
    const user = context.switchToHttp().getRequest<HttpRequest>().user as AuthenticatedUser | undefined;
    if (user && required.every((role) => user.roles.includes(role))) return true;
    throw new ForbiddenException('Insufficient role');
  }
}
