import { applyDecorators, SetMetadata } from '@nestjs/common';
import { IS_PUBLIC_KEY } from './public.decorator';
import { Roles } from './roles.decorator';

/**
 * Marks a route as needing a valid access token of a live session, and these roles if any. Routes are
 * protected by default; this states it, and on a handler it overrides a @Public() controller.
 */
export function Auth(...roles: string[]) {
  const decorators = [SetMetadata(IS_PUBLIC_KEY, false)];
  // No roles metadata without roles, so that @Auth() on a handler keeps its controller's roles.
  if (roles.length > 0) decorators.push(Roles(...roles));
  return applyDecorators(...decorators);
}
