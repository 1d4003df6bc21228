import { RequestMethod, type Type } from '@nestjs/common';
import { METHOD_METADATA, PATH_METADATA } from '@nestjs/common/constants';
import { Reflector } from '@nestjs/core';
import { AuthController } from './auth/auth.controller';
import { FORWARD_AUTH_KEY } from './access/forward-auth.decorator';
import { IS_PUBLIC_KEY } from './access/public.decorator';
import { RATE_LIMIT_BUDGET_KEY } from './access/rate-limit-budget.decorator';
import { ROLES_KEY } from './access/roles.decorator';
import { HealthController } from './health/health.controller';
import { JwksController } from './auth/jwks.controller';
import { RevocationFeedController } from './revocation-feed/revocation-feed.controller';
import { UsersController } from './users/users.controller';

/** Every controller the application mounts. A new controller must be added here to be checked. */
const CONTROLLERS: Type[] = [
  AuthController,
  JwksController,
  RevocationFeedController,
  UsersController,
  HealthController,
];

const PUBLIC_ROUTES = [
  'POST auth/register',
  'POST auth/login',
  'POST auth/refresh',
  'GET health',
  'GET health/live',
  'GET .well-known/jwks.json',
  // Not an access-token route: it checks the feed's own credential (REVOCATION_FEED_TOKEN).
  'GET auth/revocations',
];

/** The API contract's routes that need an access token (paths without the global /api prefix). */
const PROTECTED_ROUTES = [
  'POST auth/logout',
  'POST auth/logout-all',
  'GET auth/sessions',
  'DELETE auth/sessions/:id',
  'GET auth/verify',
  'GET users/me',
  'PATCH users/me/password',
  'DELETE users/me',
  'GET users',
];

interface Route {
  route: string;
  isPublic: boolean;
  roles: string[] | undefined;
  /** The AUTH_RATE_LIMIT budget the route counts against; none when null or undefined. */
  budget: string | null | undefined;
  forwardAuth: boolean;
}

function joinPath(...parts: string[]): string {
  return parts
    .flatMap((part) => part.split('/'))
    .filter(Boolean)
    .join('/');
}

function firstPath(metadata: unknown): string {
  return Array.isArray(metadata) ? String(metadata[0]) : String(metadata ?? '');
}

/** The route table as Nest's router would build it, from the same metadata. */
function routeTable(): Route[] {
  const reflector = new Reflector();
  return CONTROLLERS.flatMap((controller) => {
    const base = firstPath(Reflect.getMetadata(PATH_METADATA, controller));
    const prototype = controller.prototype as Record<string, unknown>;
    return Object.getOwnPropertyNames(prototype).flatMap((name) => {
      const handler = prototype[name];
      if (name === 'constructor' || typeof handler !== 'function') return [];
      const path: unknown = Reflect.getMetadata(PATH_METADATA, handler);
      if (path === undefined) return [];
      const method = RequestMethod[Reflect.getMetadata(METHOD_METADATA, handler) as RequestMethod];
      const targets = [handler, controller];
      return [
        {
          route: `${method} ${joinPath(base, firstPath(path))}`,
          isPublic: reflector.getAllAndOverride<boolean | undefined>(IS_PUBLIC_KEY, targets) === true,
          roles: reflector.getAllAndOverride<string[] | undefined>(ROLES_KEY, targets),
          budget: reflector.getAllAndOverride<string | null | undefined>(RATE_LIMIT_BUDGET_KEY, targets),
          forwardAuth: reflector.getAllAndOverride<boolean | undefined>(FORWARD_AUTH_KEY, targets) === true,
        },
      ];
    });
  });
}

describe('application routes', () => {
  const routes = routeTable();
  const byName = (route: string) => routes.find((entry) => entry.route === route);

  it('makes exactly register, login, refresh, the two health probes, the key set and the feed public to the JWT guard', () => {
    const publicRoutes = routes.filter((entry) => entry.isPublic).map((entry) => entry.route);

    expect(publicRoutes.sort()).toEqual([...PUBLIC_ROUTES].sort());
  });

  it('leaves every other route protected by the global guard', () => {
    const others = routes.filter((entry) => !PUBLIC_ROUTES.includes(entry.route));

    expect(others.length).toBeGreaterThan(0);
    expect(others.filter((entry) => entry.isPublic).map((entry) => entry.route)).toEqual([]);
  });

  it('declares no route twice', () => {
    const names = routes.map((entry) => entry.route);

    expect(new Set(names).size).toBe(names.length);
  });

  it('requires the admin role on GET users', () => {
    expect(byName('GET users')?.roles).toEqual(['admin']);
  });

  it('requires no role on any other route', () => {
    const withRoles = routes.filter((entry) => entry.roles?.length).map((entry) => entry.route);

    expect(withRoles).toEqual(['GET users']);
  });

  it('has every route of the API contract, and no other', () => {
    const names = routes.map((entry) => entry.route).sort();

    expect(names).toEqual([...PUBLIC_ROUTES, ...PROTECTED_ROUTES].sort());
  });

  it("counts every auth route but verify against the 'auth' budget; verify and the password change have their own", () => {
    const budgets = Object.fromEntries(
      routes.filter((entry) => entry.budget).map((entry) => [entry.route, entry.budget] as const),
    );

    expect(budgets).toEqual({
      'POST auth/register': 'auth',
      'POST auth/login': 'auth',
      'POST auth/refresh': 'auth',
      'POST auth/logout': 'auth',
      'POST auth/logout-all': 'auth',
      'GET auth/sessions': 'auth',
      'DELETE auth/sessions/:id': 'auth',
      'GET auth/verify': 'verify',
      'PATCH users/me/password': 'password-change',
    });
  });

  it('lets only GET auth/verify judge a forwarded method', () => {
    expect(routes.filter((entry) => entry.forwardAuth).map((entry) => entry.route)).toEqual(['GET auth/verify']);
  });
});
