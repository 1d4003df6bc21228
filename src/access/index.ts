/** The route decorators other modules, and teams protecting their own routes, use; AuthModule's guards enforce them. */
export { Auth } from './auth.decorator';
export { CurrentUser } from './current-user.decorator';
export { Public } from './public.decorator';
export { Roles } from './roles.decorator';
export type { AuthenticatedUser } from '../identity/authenticated-user';
