// The ways a lifecycle ends. Each one ends the session (or, for a password change, the user's other
// session), then proves that every token of it is refused on both instances, starting with the instance
// that did not handle the ending: revocation must be immediate across instances.
import { randomBytes } from 'node:crypto';
import { checkMessage, checkRefusedRefresh, checkRefusedToken, parseSetCookies } from './checks.mjs';
import { between, chance, LifecycleBroken, P_COOKIE_CLIENT, pick, SessionSteps } from './session-steps.mjs';

/** A password change sometimes starts with a wrong current password, which must be refused (403). */
const P_WRONG_CURRENT_PASSWORD = 0.1;

export class Endings extends SessionSteps {
  async logout(device) {
    const instance = this.workload.randomInstance();
    const { ok } = await this.call(
      'logout',
      instance,
      this.authenticated(device, device.accessToken, instance, 'POST', '/api/auth/logout'),
      { status: 200, client: device.mode, check: checkMessage('User logged out') },
    );
    if (!ok) throw new LifecycleBroken('logout');
    await this.expectDead(device, this.workload.other(instance), `logged out on ${instance.name}`);
  }

  async reuse(device) {
    const instance = this.workload.randomInstance();
    const superseded = pick(device.refreshTokens.slice(0, -1));
    const { response } = await this.call('reuse-attempt', instance, this.refreshRequest(device, superseded, instance), {
      status: 401,
      client: device.mode,
      revoked: 'a superseded refresh token (reuse, REFRESH_REUSE_GRACE=0)',
      check: checkRefusedRefresh,
    });
    // Accepted (already counted), or no answer (it may still reach the database): not revoked yet.
    if (response.status !== 401) throw new LifecycleBroken('reuse');
    await this.expectDead(device, this.workload.other(instance), `refresh-token reuse on ${instance.name}`);
  }

  /** With no grace period, exactly one of N concurrent refreshes with one token wins; the others are reuse. */
  async refreshRace(device) {
    const token = device.refreshToken;
    const targets = Array.from({ length: between(2, 4) }, () => this.workload.randomInstance());
    const results = await Promise.all(
      targets.map((instance) =>
        this.call('refresh-race', instance, this.refreshRequest(device, token, instance), {
          status: [200, 401],
          client: device.mode,
        }),
      ),
    );
    const winners = results.filter(({ response }) => response.status === 200);
    const where = targets.map((instance) => instance.name).join(',');
    if (winners.length > 1) {
      this.fail('wronglyAccepted', {
        kind: 'refresh-race',
        client: device.mode,
        reason: `${winners.length} of ${targets.length} concurrent refreshes with one token succeeded (on ${where})`,
      });
    } else if (winners.length === 0 && results.every(({ ok }) => ok)) {
      this.fail('unexpected', {
        kind: 'refresh-race',
        client: device.mode,
        reason: `none of ${targets.length} concurrent refreshes with one token succeeded (on ${where})`,
      });
    }
    for (const { response } of winners) this.adoptRaceTokens(device, response);
    // A refresh that got no answer (already counted) may still reach the database later: until it
    // does, the session can be legitimately live, so there is nothing certain left to check.
    if (results.some(({ response }) => response.status === undefined)) throw new LifecycleBroken('refresh-race');
    await this.expectDead(device, this.workload.randomInstance(), `${targets.length} concurrent refreshes (reuse)`);
  }

  /** A refresh racing a logout may win or lose, but once both have answered the session is dead. */
  async logoutRace(device) {
    const logoutAt = this.workload.randomInstance();
    const refreshAt = this.workload.randomInstance();
    const [logout, refresh] = await Promise.all([
      this.call(
        'logout-race-logout',
        logoutAt,
        this.authenticated(device, device.accessToken, logoutAt, 'POST', '/api/auth/logout'),
        { status: 200, client: device.mode, check: checkMessage('User logged out') },
      ),
      this.call('logout-race-refresh', refreshAt, this.refreshRequest(device, device.refreshToken, refreshAt), {
        status: [200, 401],
        client: device.mode,
      }),
    ]);
    if (!logout.ok) throw new LifecycleBroken('logout-race');
    if (refresh.response.status === 200) this.adoptRaceTokens(device, refresh.response);
    await this.expectDead(
      device,
      this.workload.other(logoutAt),
      `logged out on ${logoutAt.name} during a refresh on ${refreshAt.name}`,
    );
  }

  async deleteSession(device) {
    const instance = this.workload.randomInstance();
    const path = `/api/auth/sessions/${device.sessionId}`;
    const { ok } = await this.call(
      'delete-session',
      instance,
      this.authenticated(device, device.accessToken, instance, 'DELETE', path),
      { status: 204, client: device.mode },
    );
    if (!ok) throw new LifecycleBroken('delete-session');
    await this.expectDead(device, this.workload.other(instance), `own session deleted on ${instance.name}`);
  }

  async logoutAll(device) {
    const second = await this.login(chance(P_COOKIE_CLIENT) ? 'cookie' : 'body');
    await this.expectLive(second, second.accessToken, 'verify');
    const instance = this.workload.randomInstance();
    const { ok } = await this.call(
      'logout-all',
      instance,
      this.authenticated(device, device.accessToken, instance, 'POST', '/api/auth/logout-all'),
      { status: 200, client: device.mode, check: checkMessage('Logged out of all sessions') },
    );
    if (!ok) throw new LifecycleBroken('logout-all');
    const why = `logout-all on ${instance.name}`;
    await this.expectDead(device, this.workload.other(instance), why);
    await this.expectDead(second, this.workload.other(instance), `${why} (the user's other session)`);
  }

  async deleteAccount(device) {
    const instance = this.workload.randomInstance();
    const { ok } = await this.call(
      'delete-account',
      instance,
      this.authenticated(device, device.accessToken, instance, 'DELETE', '/api/users/me'),
      { status: 204, client: device.mode },
    );
    if (!ok) throw new LifecycleBroken('delete-account');
    this.user = null;
    await this.expectDead(device, this.workload.other(instance), `account deleted on ${instance.name}`);
  }

  /**
   * A password change on one device: the user's other session dies at once on both instances, the
   * changing session stays (it still verifies and refreshes), the old password no longer logs in.
   * Then the changing session logs out, so that no lifecycle leaves a live session behind.
   */
  async changePassword(device) {
    const second = await this.login(chance(P_COOKIE_CLIENT) ? 'cookie' : 'body');
    await this.expectLive(second, second.accessToken, 'verify');
    const oldPassword = this.user.password;
    if (chance(P_WRONG_CURRENT_PASSWORD)) {
      await this.patchPassword(device, `${oldPassword}-wrong`, oldPassword, {
        status: 403,
        revoked: 'a wrong current password',
        check: (answer) =>
          answer.json?.message === 'Current password is incorrect' ? undefined : `message ${answer.json?.message}`,
      });
    }
    const newPassword = `soak-${randomBytes(9).toString('base64url')}`;
    const { ok, instance } = await this.patchPassword(device, oldPassword, newPassword, { status: 204 });
    if (!ok) throw new LifecycleBroken('change-password');
    this.user.password = newPassword;
    const other = this.workload.other(instance);
    await this.expectDead(second, other, `password changed on ${instance.name} (the user's other session)`);
    await this.expectLive(device, device.accessToken, 'verify', other);
    await this.refresh(device);
    await this.wrongPasswordLogin(oldPassword, 'login-old-password', 'the password before the change');
    await this.logout(device);
  }

  async patchPassword(device, currentPassword, newPassword, expect) {
    const instance = this.workload.randomInstance();
    const request = this.authenticated(device, device.accessToken, instance, 'PATCH', '/api/users/me/password');
    const kind = expect.status === 204 ? 'change-password' : 'change-password-wrong';
    const { ok } = await this.call(
      kind,
      instance,
      { ...request, body: { currentPassword, newPassword } },
      { client: device.mode, ...expect },
    );
    return { ok, instance };
  }

  /** Tokens from a race's successful refresh: kept so that the death check covers them too. */
  adoptRaceTokens(device, response) {
    const cookies = parseSetCookies(response);
    const accessToken = device.mode === 'body' ? response.json?.accessToken : cookies.accessToken?.value;
    const refreshToken = device.mode === 'body' ? response.json?.refreshToken : cookies.refreshToken?.value;
    if (accessToken && !device.accessTokens.includes(accessToken)) device.accessTokens.push(accessToken);
    if (refreshToken && !device.refreshTokens.includes(refreshToken)) device.refreshTokens.push(refreshToken);
  }

  /**
   * The session has ended: its newest access and refresh tokens, and an older access token, must be
   * refused on both instances, the first request going to `first` right after the ending's answer.
   */
  async expectDead(device, first, why) {
    const second = this.workload.other(first);
    const refusedAccess = (instance, accessToken, route, detail = '') =>
      this.call(
        route === 'verify' ? 'revoked-verify' : 'revoked-me',
        instance,
        this.authenticated(
          device,
          accessToken,
          instance,
          'GET',
          route === 'verify' ? '/api/auth/verify' : '/api/users/me',
        ),
        { status: 401, client: device.mode, revoked: `access token${detail}, ${why}`, check: checkRefusedToken },
      );
    const refusedRefresh = (instance) =>
      this.call('revoked-refresh', instance, this.refreshRequest(device, device.refreshToken, instance), {
        status: 401,
        client: device.mode,
        revoked: `newest refresh token, ${why}`,
        check: checkRefusedRefresh,
      });

    await refusedAccess(first, device.accessToken, 'verify');
    await refusedAccess(second, device.accessToken, 'verify');
    await refusedAccess(pick([first, second]), device.accessToken, 'me');
    await refusedRefresh(first);
    await refusedRefresh(second);
    if (device.accessTokens.length > 1) {
      await refusedAccess(this.workload.randomInstance(), pick(device.accessTokens.slice(0, -1)), 'verify', ' (older)');
    }
  }
}
