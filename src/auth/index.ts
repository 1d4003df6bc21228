/** What other modules, and teams protecting their own routes, use from AuthModule. */
export { Auth } from './decorators/auth.decorator';
export { CurrentUser } from './decorators/current-user.decorator';
export { Public } from './decorators/public.decorator';
export { Roles } from './decorators/roles.decorator';
export type { AuthenticatedUser } from './authenticated-user';
