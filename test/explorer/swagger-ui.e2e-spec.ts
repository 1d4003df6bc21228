import { randomBytes } from 'node:crypto';
import { mkdir, stat } from 'node:fs/promises';
import { resolve } from 'node:path';
import type { Browser, BrowserContext } from 'playwright-core';
import { createTestApp, type TestApp } from '../support/test-app';
import { listenOnLoopback } from '../support/http';
import { captureConsole, launchChromium, SwaggerExplorer } from './swagger-ui-driver';

/**
 * The OpenAPI explorer at /docs, driven in a real browser (Debian's Chromium through playwright-core)
 * against the real app and database: everything goes through Swagger UI's own buttons and fields.
 */

const OUTPUT_DIR = resolve(__dirname, '../../test-output/explorer');
const SCREENSHOT = resolve(OUTPUT_DIR, 'swagger-ui.png');
const PASSWORD = 'correct horse battery staple';

const uniqueUsername = (prefix: string) => `${prefix}_${randomBytes(5).toString('hex')}`;

/** Console noise that is the expected outcome of a step, not a fault of the page: the 401 we ask for. */
const EXPECTED_PROBLEM = /status of 401 \(Unauthorized\)/;

describe('Swagger UI at /docs in Chromium', () => {
  let t: TestApp;
  let baseUrl: string;
  let browser: Browser;
  const contexts: BrowserContext[] = [];
  const captures: string[][] = [];
  /** Everything the pages reported so far, minus the 401s the test asks for. */
  const unexpectedProblems = () => captures.flat().filter((line) => !EXPECTED_PROBLEM.test(line));

  async function openExplorer(label: string): Promise<SwaggerExplorer> {
    const context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
    contexts.push(context);
    const page = await context.newPage();
    const captured = captureConsole(page, label);
    captures.push(captured);
    const explorer = new SwaggerExplorer(page);
    try {
      await explorer.open(baseUrl);
    } catch (error) {
      throw new Error(`${String(error)}\nBrowser reported:\n${captured.join('\n') || '(nothing)'}`, { cause: error });
    }
    return explorer;
  }

  beforeAll(async () => {
    t = await createTestApp({}, 'explorer');
    baseUrl = (await listenOnLoopback(t)).baseUrl;
    browser = await launchChromium();
  });

  afterAll(async () => {
    for (const context of contexts) await context.close().catch(() => undefined);
    await browser?.close().catch(() => undefined);
    await t?.close();
    const unexpected = unexpectedProblems();
    // Printed, not asserted here: a failing step already says what failed; this says why the page did.
    if (unexpected.length > 0) process.stderr.write(`\n[explorer] browser reported:\n${unexpected.join('\n')}\n`);
  });

  it('register, login, Authorize with the bearer token, /users/me, logout, then /users/me is 401', async () => {
    const explorer = await openExplorer('bearer');
    const username = uniqueUsername('explorer');

    const registered = await explorer.execute('auth', 'register', { username, password: PASSWORD });
    expect([registered.status, registered.body?.username]).toEqual([201, username]);

    const loggedIn = await explorer.execute('auth', 'login', { username, password: PASSWORD });
    expect(loggedIn.status).toBe(200);
    const accessToken = loggedIn.body?.accessToken;
    expect(typeof accessToken).toBe('string');
    expect(accessToken.split('.')).toHaveLength(3);

    // The login also set the HttpOnly cookies in this browser; drop them so that from here on only the
    // token typed into the Authorize dialog can authenticate (the cookie flow has its own test below).
    await explorer.page.context().clearCookies();
    await explorer.authorizeBearer(accessToken);

    const me = await explorer.execute('users', 'getCurrentUser');
    expect([me.status, me.body?.username]).toEqual([200, username]);
    expect(me.requestHeaders.authorization).toBe(`Bearer ${accessToken}`);
    expect(me.curl).toContain(`Authorization: Bearer ${accessToken}`);

    const loggedOut = await explorer.execute('auth', 'logout');
    expect([loggedOut.status, loggedOut.body]).toEqual([200, { message: 'User logged out' }]);

    // Same, unexpired token, still set in the Authorize dialog: the session is revoked.
    const afterLogout = await explorer.execute('users', 'getCurrentUser');
    expect([afterLogout.status, afterLogout.body?.message]).toEqual([401, 'Unauthorized']);

    await mkdir(OUTPUT_DIR, { recursive: true });
    await explorer.page.screenshot({ path: SCREENSHOT, timeout: 15_000 });
    expect((await stat(SCREENSHOT)).size).toBeGreaterThan(0);

    // Swagger UI ran under the app's Content-Security-Policy without a violation or a script error.
    expect(unexpectedProblems().filter((line) => /Content Security Policy|pageerror/.test(line))).toEqual([]);
  });

  it('cookie auth from the same origin: login through Try it out, no Authorize, /users/me is 200', async () => {
    const explorer = await openExplorer('cookie');
    const username = uniqueUsername('cookie');

    expect((await explorer.execute('auth', 'register', { username, password: PASSWORD })).status).toBe(201);
    expect((await explorer.execute('auth', 'login', { username, password: PASSWORD })).status).toBe(200);

    // The login's Set-Cookie was stored by the browser (HttpOnly: invisible to the page's script).
    const cookies = await explorer.page.context().cookies(baseUrl);
    expect(cookies.find((cookie) => cookie.name === 'accessToken')).toMatchObject({ httpOnly: true });

    // Default COOKIE_SECURE=true: Chromium treats http://127.0.0.1 as a secure context, stores the Secure
    // cookies and sends them back to the same origin with Swagger UI's fetch.
    const me = await explorer.execute('users', 'getCurrentUser');
    expect([me.status, me.body?.username]).toEqual([200, username]);
    expect(me.requestHeaders.authorization).toBeUndefined();
    expect(me.requestHeaders.cookie).toMatch(/(^|; )accessToken=[^;]+/);
  });
});
