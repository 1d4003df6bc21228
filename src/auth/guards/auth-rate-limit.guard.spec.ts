import type { Type } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import { ExecutionContextHost } from '@nestjs/core/helpers/execution-context-host';
import { ThrottlerException, ThrottlerStorageService } from '@nestjs/throttler';
import type { AuthConfig } from '../../config';
import { makeAuthConfig } from '../../config/testing/auth-config.fixture';
import { HealthController } from '../../health/health.controller';
import { UsersController } from '../../users/users.controller';
import { AuthController } from '../auth.controller';
import { AuthRateLimitGuard } from './auth-rate-limit.guard';

const LIMIT = 3;
const PASSWORD_CHANGE_LIMIT = 2;

interface Route {
  controller: Type;
  handler: string;
}

const LOGIN: Route = { controller: AuthController, handler: 'login' };
const REFRESH: Route = { controller: AuthController, handler: 'refresh' };
const VERIFY: Route = { controller: AuthController, handler: 'verify' };
const CHANGE_PASSWORD: Route = { controller: UsersController, handler: 'changePassword' };
const ME: Route = { controller: UsersController, handler: 'me' };
const HEALTH: Route = { controller: HealthController, handler: 'readiness' };

/** The guard as AuthModule builds it, over the in-memory storage, with AUTH_RATE_LIMIT = `limit`. */
function createGuard(storage: ThrottlerStorageService, limit = LIMIT, verifyLimit = 0): Promise<AuthRateLimitGuard> {
  const config: AuthConfig = makeAuthConfig({
    authRateLimitPerMinute: limit,
    passwordChangeRateLimitPerMinute: PASSWORD_CHANGE_LIMIT,
    verifyRateLimitPerMinute: verifyLimit,
  });
  const guard = new AuthRateLimitGuard(
    { throttlers: [{ name: 'default', ttl: 60_000, limit: Math.max(1, limit) }] },
    storage,
    new Reflector(),
    config,
  );
  return guard.onModuleInit().then(() => guard);
}

describe(AuthRateLimitGuard.name, () => {
  let storage: ThrottlerStorageService;
  let sut: AuthRateLimitGuard;

  beforeEach(async () => {
    storage = new ThrottlerStorageService();
    sut = await createGuard(storage);
  });

  afterEach(() => storage.onApplicationShutdown());

  /** One request from `ip` to `route`: true when let through, the 429 when refused. */
  function request(route: Route, ip = '198.51.100.7'): Promise<true | unknown> {
    const handler = (route.controller.prototype as Record<string, () => unknown>)[route.handler];
    if (typeof handler !== 'function') throw new Error(`${route.controller.name} has no ${route.handler}`);
    const req = { ip, headers: {} };
    const res = { header: jest.fn() };
    const context = new ExecutionContextHost([req, res], route.controller, handler);
    context.setType('http');
    return sut.canActivate(context).catch((error: unknown) => error);
  }

  async function requests(route: Route, count: number, ip?: string): Promise<(true | unknown)[]> {
    const results = [];
    for (let index = 0; index < count; index += 1) results.push(await request(route, ip));
    return results;
  }

  it('refuses with 429 the request beyond AUTH_RATE_LIMIT from one address', async () => {
    const results = await requests(LOGIN, LIMIT + 1);

    expect(results.slice(0, LIMIT)).toEqual([true, true, true]);
    expect(results[LIMIT]).toBeInstanceOf(ThrottlerException);
  });

  it("counts every AuthController route against one 'auth' budget, not one per route", async () => {
    await requests(LOGIN, LIMIT);

    await expect(request(REFRESH)).resolves.toBeInstanceOf(ThrottlerException);
  });

  // A proxy calls verify for every request it passes on: counting it would let browsing block logout.
  it('does not count verify by default (VERIFY_RATE_LIMIT=0), and verify does not spend the auth budget', async () => {
    await expect(requests(VERIFY, LIMIT * 3)).resolves.toEqual(Array(LIMIT * 3).fill(true));

    await expect(requests(LOGIN, LIMIT)).resolves.toEqual([true, true, true]);
  });

  it('counts verify against a budget of its own when VERIFY_RATE_LIMIT is set, apart from the auth budget', async () => {
    sut = await createGuard(storage, LIMIT, 2);

    await expect(requests(VERIFY, 2)).resolves.toEqual([true, true]);
    await expect(request(VERIFY)).resolves.toBeInstanceOf(ThrottlerException);
    await expect(requests(LOGIN, LIMIT)).resolves.toEqual([true, true, true]);
    await expect(request(VERIFY, '198.51.100.8')).resolves.toBe(true);
  });

  it('counts the password change against a budget of its own, of PASSWORD_CHANGE_RATE_LIMIT', async () => {
    await requests(LOGIN, LIMIT);

    await expect(requests(CHANGE_PASSWORD, PASSWORD_CHANGE_LIMIT)).resolves.toEqual([true, true]);
    await expect(request(CHANGE_PASSWORD)).resolves.toBeInstanceOf(ThrottlerException);
  });

  it.each([
    ['GET users/me', ME],
    ['GET health', HEALTH],
  ])('does not count %s, which has no budget', async (_label, route) => {
    await expect(requests(route, LIMIT * 2)).resolves.toEqual(Array(LIMIT * 2).fill(true));
  });

  it('counts every address of one IPv6 /64 together', async () => {
    await request(LOGIN, '2001:db8:1:2::1');
    await request(LOGIN, '2001:db8:1:2::2');
    await request(LOGIN, '2001:db8:1:2:ffff::3');

    await expect(request(LOGIN, '2001:db8:1:2::4')).resolves.toBeInstanceOf(ThrottlerException);
    await expect(request(LOGIN, '2001:db8:1:3::1')).resolves.toBe(true);
  });

  it('counts an IPv4-mapped address as its IPv4 address', async () => {
    await requests(LOGIN, LIMIT, '198.51.100.7');

    await expect(request(LOGIN, '::ffff:198.51.100.7')).resolves.toBeInstanceOf(ThrottlerException);
  });

  it('keeps other addresses apart', async () => {
    await requests(LOGIN, LIMIT, '198.51.100.7');

    await expect(request(LOGIN, '198.51.100.8')).resolves.toBe(true);
  });

  it('counts nothing with AUTH_RATE_LIMIT=0', async () => {
    sut = await createGuard(storage, 0);

    await expect(requests(LOGIN, 10)).resolves.toEqual(Array(10).fill(true));
  });
});
