import { createTestApp, type TestApp } from '../support/test-app';
import { login, registerAndLogin, type LoggedIn } from '../support/http';
import { ReportsModule } from './reports.module';

/** A module of the adopting team's own, protected only by the decorators (README "Protecting your own routes"). */
describe('decorators on a module outside AuthModule', () => {
  const ADMIN_USERNAME = 'reports_admin';
  const ADMIN_PASSWORD = 'reports-admin-password';
  let t: TestApp;
  let user: LoggedIn;
  let admin: LoggedIn;

  beforeAll(async () => {
    t = await createTestApp({ ADMIN_USERNAME, ADMIN_PASSWORD }, 'decorators', [ReportsModule]);
    user = await registerAndLogin(t);
    admin = await login(t, ADMIN_USERNAME, ADMIN_PASSWORD);
  });
  afterAll(async () => {
    await t.close();
  });

  it('@Public() opens a route: no token needed', async () => {
    await t.http().get('/api/reports/status').expect(200, { status: 'up' });
  });

  it('an @Auth() route refuses a request without a token (401, WWW-Authenticate: Bearer)', async () => {
    const res = await t.http().get('/api/reports/mine').expect(401);
    expect(res.headers['www-authenticate']).toBe('Bearer');
  });

  it('@CurrentUser() hands the handler the caller of a live session', async () => {
    const res = await t.http().get('/api/reports/mine').set('Authorization', `Bearer ${user.accessToken}`).expect(200);
    expect(res.body.owner).toBe(
      (await t.http().get('/api/users/me').set('Authorization', `Bearer ${user.accessToken}`)).body.id,
    );
    expect(res.body.session).toMatch(/^[a-f0-9]{24}$/);
  });

  it("a logged-out token is refused on the team's route too", async () => {
    const other = await registerAndLogin(t);
    await t.http().post('/api/auth/logout').set('Authorization', `Bearer ${other.accessToken}`).expect(200);
    await t.http().get('/api/reports/mine').set('Authorization', `Bearer ${other.accessToken}`).expect(401);
  });

  it("@Auth('admin') answers 403 to a user without the role and 200 to an administrator", async () => {
    await t.http().get('/api/reports/all').set('Authorization', `Bearer ${user.accessToken}`).expect(403);
    await t
      .http()
      .get('/api/reports/all')
      .set('Authorization', `Bearer ${admin.accessToken}`)
      .expect(200, { reports: [] });
  });

  it('@Auth() documents the routes: both security schemes, 401, and 403 where a role is needed', async () => {
    const document = (await t.http().get('/docs-json').expect(200)).body;
    const mine = document.paths['/api/reports/mine'].get;
    const all = document.paths['/api/reports/all'].get;
    const status = document.paths['/api/reports/status'].get;
    expect(mine.security).toEqual(expect.arrayContaining([{ bearer: [] }, { cookie: [] }]));
    expect(Object.keys(mine.responses)).toEqual(expect.arrayContaining(['401']));
    expect(Object.keys(all.responses)).toEqual(expect.arrayContaining(['401', '403']));
    expect(status.security ?? []).toEqual([]);
  });
});
