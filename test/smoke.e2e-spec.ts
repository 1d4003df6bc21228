import { createTestApp, type TestApp } from './support/test-app';
import { registerAndLogin } from './support/auth-helpers';

describe('smoke', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await createTestApp();
  });
  afterAll(async () => {
    await t.close();
  });

  it('logs in and out', async () => {
    const user = await registerAndLogin(t);
    await t.http().get('/api/users/me').set('Authorization', `Bearer ${user.accessToken}`).expect(200);
    await t.http().post('/api/auth/logout').set('Authorization', `Bearer ${user.accessToken}`).expect(200);
    await t.http().get('/api/users/me').set('Authorization', `Bearer ${user.accessToken}`).expect(401);
  });
});
