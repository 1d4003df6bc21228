import { SetMetadata } from '@nestjs/common';

export const ROLES_KEY = 'nest-auth-guard:roles';

/**
 * The caller needs every one of these roles (403 otherwise). Roles on a controller and on its handler
 * add up: a handler cannot loosen its controller's requirement. Usually applied through @Auth(...roles).
 */
export const Roles = (...roles: string[]) => SetMetadata(ROLES_KEY, roles);
