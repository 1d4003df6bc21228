import { SetMetadata } from '@nestjs/common';

export const ROLES_KEY = 'auth:roles';

/** The caller needs every one of these roles. Usually applied through @Auth(...roles). */
export const Roles = (...roles: string[]) => SetMetadata(ROLES_KEY, roles);
