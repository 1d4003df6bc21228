import { ForbiddenException, type ExecutionContext } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import type { AuthenticatedUser } from '../../identity/authenticated-user';
import { Roles } from '../../access/roles.decorator';
import { RolesGuard } from './roles.guard';

class FixtureController {
  open(): void {}

  @Roles('admin')
  adminOnly(): void {}

  @Roles('admin', 'auditor')
  adminAndAuditor(): void {}
}

@Roles('admin')
class AdminFixtureController {
  anything(): void {}
}

function contextFor(
  controller: new () => object,
  handler: (...args: never[]) => unknown,
  user?: AuthenticatedUser,
): ExecutionContext {
  return {
    getHandler: () => handler,
    getClass: () => controller,
    switchToHttp: () => ({ getRequest: () => ({ user }) }),
  } as unknown as ExecutionContext;
}

function caller(...roles: string[]): AuthenticatedUser {
  return { userId: '6650f0c2a1b2c3d4e5f60718', sessionId: '6650f0c2a1b2c3d4e5f60719', roles };
}

describe(RolesGuard.name, () => {
  let sut: RolesGuard;

  beforeEach(() => {
    sut = new RolesGuard(new Reflector());
  });

  it('allows a route without role metadata, whoever calls it', () => {
    expect(sut.canActivate(contextFor(FixtureController, FixtureController.prototype.open, caller()))).toBe(true);
    expect(sut.canActivate(contextFor(FixtureController, FixtureController.prototype.open))).toBe(true);
  });

  it('refuses with 403 a user lacking the required role', () => {
    const context = contextFor(FixtureController, FixtureController.prototype.adminOnly, caller('user'));

    expect(() => sut.canActivate(context)).toThrow(ForbiddenException);
  });

  it('allows a user holding the required role', () => {
    const context = contextFor(FixtureController, FixtureController.prototype.adminOnly, caller('admin', 'user'));

    expect(sut.canActivate(context)).toBe(true);
  });

  it('requires every listed role, not just one of them', () => {
    const handler = FixtureController.prototype.adminAndAuditor;

    expect(() => sut.canActivate(contextFor(FixtureController, handler, caller('admin')))).toThrow(ForbiddenException);
    expect(sut.canActivate(contextFor(FixtureController, handler, caller('auditor', 'admin')))).toBe(true);
  });

  it('refuses a role-protected route when no user was authenticated', () => {
    const context = contextFor(FixtureController, FixtureController.prototype.adminOnly);

    expect(() => sut.canActivate(context)).toThrow(ForbiddenException);
  });

  it('applies roles set on the controller class to its handlers', () => {
    const handler = AdminFixtureController.prototype.anything;

    expect(() => sut.canActivate(contextFor(AdminFixtureController, handler, caller('user')))).toThrow(
      ForbiddenException,
    );
    expect(sut.canActivate(contextFor(AdminFixtureController, handler, caller('admin')))).toBe(true);
  });
});
