import type { Browser, BrowserContext, Page } from 'playwright-core';
import { PASSWORD, uniqueUsername } from '../support/http';
import { launchChromium } from '../explorer/swagger-ui-driver';
import { findFreePort } from '../support/free-port';
import { startProxiedDeployment, type ProxiedDeployment } from './support/proxied-deployment';
import type { ProxyKind } from './support/proxy-servers';

/**
 * The cookie session through each proxy as a real browser lives it (Debian's Chromium): it logs in
 * with the page's own fetch, browses the protected application with the HttpOnly cookie it was
 * given, is refused a form posted from another origin of the same site (which the browser does send
 * the cookie with), and logs out. Browsers send what no hand-written client thinks of: Origin on a
 * same-origin POST, Sec-Fetch-* headers, the port in Host.
 */

jest.setTimeout(120_000);

interface PageAnswer {
  status: number;
  body: any;
}

/** fetch from inside the page: same origin, the browser's own cookies and headers. */
function fetchInPage(page: Page, method: string, path: string, body?: unknown): Promise<PageAnswer> {
  return page.evaluate(
    async ({ method, path, body }) => {
      const res = await fetch(path, {
        method,
        headers: body === undefined ? {} : { 'Content-Type': 'application/json' },
        body: body === undefined ? undefined : JSON.stringify(body),
      });
      const text = await res.text();
      return { status: res.status, body: text ? JSON.parse(text) : undefined };
    },
    { method, path, body },
  );
}

// One browser for both proxies (starting Chromium is most of this file's CPU); a context of its own for each.
let browser: Browser;
beforeAll(async () => {
  browser = await launchChromium();
});
afterAll(async () => {
  await browser?.close().catch(() => undefined);
});

describe.each<ProxyKind>(['nginx', 'caddy'])('a browser session through %s', (kind) => {
  let d: ProxiedDeployment;
  let context: BrowserContext;

  beforeAll(async () => {
    d = await startProxiedDeployment(kind, `pxbrowser${kind}`);
    context = await browser.newContext();
  });
  afterAll(async () => {
    await context?.close().catch(() => undefined);
    await d?.close();
  });

  it('logs in, browses with the cookie, is refused a form from another origin, logs out', async () => {
    const origin = d.proxy.url;
    const page = await context.newPage();
    await page.goto(`${origin}/health/live`);

    const username = uniqueUsername('browser');
    expect((await fetchInPage(page, 'POST', '/api/auth/register', { username, password: PASSWORD })).status).toBe(201);
    const login = await fetchInPage(page, 'POST', '/api/auth/login', { username, password: PASSWORD });
    expect(login.status).toBe(200);
    const cookies = await context.cookies(origin);
    expect(cookies.find((cookie) => cookie.name === 'accessToken')).toMatchObject({ httpOnly: true });

    const browsed = await page.goto(`${origin}/app/account`);
    expect(browsed?.status()).toBe(200);
    const seen = (await browsed!.json()) as { headers: Record<string, string | undefined> };
    expect(seen.headers['x-user-id']).toEqual(expect.stringMatching(/^[a-f0-9]{24}$/));
    expect(seen.headers.authorization).toBeUndefined();
    expect(seen.headers.cookie ?? '').not.toMatch(/accessToken|refreshToken/);

    // Same site (the host), another origin (the port): the browser sends the SameSite=Strict cookie along.
    const attackerOrigin = `http://127.0.0.1:${await findFreePort()}`;
    await page.route(`${attackerOrigin}/form`, (route) =>
      route.fulfill({
        contentType: 'text/html',
        body: `<form method="POST" action="${origin}/app/transfer"><input name="amount" value="1000"></form>
               <script>document.forms[0].submit()</script>`,
      }),
    );
    const before = d.upstream.received.length;
    const [refused] = await Promise.all([
      page.waitForResponse((res) => res.url() === `${origin}/app/transfer`),
      page.goto(`${attackerOrigin}/form`),
    ]);
    expect(refused.status()).toBe(403);
    expect(d.upstream.received.slice(before).map((request) => request.method)).toEqual([]);

    await page.goto(`${origin}/health/live`);
    const logout = await fetchInPage(page, 'POST', '/api/auth/logout');
    expect(logout).toEqual({ status: 200, body: { message: 'User logged out' } });
    expect((await page.goto(`${origin}/app/account`))?.status()).toBe(401);
    // A copy of the cookie kept from before the logout is refused too: the session is revoked.
    await context.addCookies(cookies.filter((cookie) => cookie.name === 'accessToken'));
    expect((await page.goto(`${origin}/app/account`))?.status()).toBe(401);
  });
});
