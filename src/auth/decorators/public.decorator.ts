import { SetMetadata } from '@nestjs/common';

export const IS_PUBLIC_KEY = 'auth:public';

/** Opens a route that the global guard would otherwise protect. */
export const Public = () => SetMetadata(IS_PUBLIC_KEY, true);
