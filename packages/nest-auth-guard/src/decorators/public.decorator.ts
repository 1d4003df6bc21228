import { SetMetadata } from '@nestjs/common';

export const IS_PUBLIC_KEY = 'nest-auth-guard:public';

/** Opens a route (or every route of a controller) that the global guard would otherwise protect. */
export const Public = () => SetMetadata(IS_PUBLIC_KEY, true);
