import Redis from 'ioredis';
import { randomBytes } from 'node:crypto';
import { jwtPayload, PASSWORD, uniqueUsername } from '../../support/http';
import type { Reply, InstanceClient } from '../../support/http';
import type { ReceivedRequest } from './echo-upstream';

/** What the proxy suites check, and the faults they inject. */

export interface Session {
  userId: string;
  sessionId: string;
  accessToken: string;
  refreshToken: string;
}

export const UNAUTHORIZED = { statusCode: 401, message: 'Unauthorized', error: 'Unauthorized' };
/** A token cookie, however the service would read it (it trims spaces around a name). */
const TOKEN_COOKIE = /(^|;)\s*(accessToken|refreshToken)\s*=/;

/**
 * Redis stays up and connected but answers every data command with an error (an ACL that leaves the
 * default user only its connection commands), until `lift`.
 */
export async function refuseRedisCommands(url: string): Promise<{ lift: () => Promise<void> }> {
  const admin = new Redis(url, { lazyConnect: true, maxRetriesPerRequest: 1 });
  await admin.connect();
  const password = randomBytes(12).toString('hex');
  await admin.call('ACL', 'SETUSER', 'fault-injector', 'on', `>${password}`, '~*', '&*', '+@all');
  await admin.call('AUTH', 'fault-injector', password);
  await admin.call('ACL', 'SETUSER', 'default', '-@all', '+@connection');
  return {
    async lift() {
      await admin.call('ACL', 'SETUSER', 'default', '+@all');
      await admin.quit();
    },
  };
}

export async function signIn(through: InstanceClient): Promise<Session> {
  const username = uniqueUsername('proxy');
  const registered = await through.register(username, PASSWORD);
  expect(registered.status).toBe(201);
  const loggedIn = await through.login(username, PASSWORD);
  expect(loggedIn.status).toBe(200);
  const { accessToken, refreshToken } = loggedIn.body as { accessToken: string; refreshToken: string };
  return { userId: registered.body.id, sessionId: String(jwtPayload(accessToken).sid), accessToken, refreshToken };
}

export function expectJsonError(res: Reply, status: number): void {
  expect({ status: res.status, type: res.headers['content-type'] }).toEqual({
    status,
    type: expect.stringMatching(/^application\/json/),
  });
  expect(res.body).toEqual({ statusCode: status, message: expect.any(String), error: expect.any(String) });
}

export function expectRetryAfter(res: Reply): void {
  expect(Number(res.headers['retry-after'])).toBeGreaterThanOrEqual(1);
}

/** The identity headers the upstream saw, and proof that no token came along. */
export function expectIdentityOnly(request: ReceivedRequest, session: Session): void {
  expect({
    userId: request.headers['x-user-id'],
    roles: request.headers['x-user-roles'],
    sessionId: request.headers['x-session-id'],
    authorization: request.headers.authorization,
    tokenCookie: TOKEN_COOKIE.test(request.headers.cookie ?? ''),
  }).toEqual({
    userId: session.userId,
    roles: 'user',
    sessionId: session.sessionId,
    authorization: undefined,
    tokenCookie: false,
  });
}
