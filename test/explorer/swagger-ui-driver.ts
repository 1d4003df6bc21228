import { chromium, type Browser, type Locator, type Page } from 'playwright-core';

/** Bound of every single UI step (wait for an element, a response, a modal). */
export const STEP_TIMEOUT_MS = 15_000;

/**
 * Debian's Chromium, headless. We run as root (--no-sandbox); without the background-networking flags
 * Chromium's own outgoing connections (updates, sync, QUIC probes) are refused by the closed network.
 */
export function launchChromium(): Promise<Browser> {
  return chromium.launch({
    executablePath: '/usr/bin/chromium',
    headless: true,
    timeout: 30_000,
    args: [
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
    ],
  });
}

/** What the browser reported while the explorer ran: console errors, uncaught exceptions, CSP reports. */
export function captureConsole(page: Page, label: string): string[] {
  const problems: string[] = [];
  page.on('console', (message) => {
    if (message.type() === 'error' || message.type() === 'warning')
      problems.push(`[${label} console.${message.type()}] ${message.text()}`);
  });
  page.on('pageerror', (error) => problems.push(`[${label} pageerror] ${error.message}`));
  page.on('requestfailed', (request) =>
    problems.push(`[${label} requestfailed] ${request.url()} ${request.failure()?.errorText ?? ''}`),
  );
  return problems;
}

export interface LiveResponse {
  status: number;
  text: string;
  body: any;
  /** The headers the browser actually sent, cookies included (Playwright's allHeaders). */
  requestHeaders: Record<string, string>;
  /** The curl command Swagger UI shows for the request it made. */
  curl: string;
}

/** Drives Swagger UI the way a person does: expand an operation, Try it out, fill, Execute, read. */
export class SwaggerExplorer {
  constructor(readonly page: Page) {}

  async open(baseUrl: string): Promise<void> {
    await this.page.goto(`${baseUrl}/docs`, { waitUntil: 'load', timeout: STEP_TIMEOUT_MS });
    // The operations list renders once the UI has fetched and parsed the OpenAPI document.
    await this.page.locator('#operations-auth-login').waitFor({ timeout: STEP_TIMEOUT_MS });
  }

  /** Opblock ids are `operations-<tag>-<operationId>`. */
  operation(tag: string, operationId: string): Locator {
    return this.page.locator(`#operations-${tag}-${operationId}`);
  }

  /** Expands the operation (if collapsed) and switches it to "Try it out" (if not already). */
  async tryItOut(tag: string, operationId: string): Promise<Locator> {
    const op = this.operation(tag, operationId);
    if (!((await op.getAttribute('class', { timeout: STEP_TIMEOUT_MS })) ?? '').split(/\s+/).includes('is-open')) {
      await op.locator('.opblock-summary-control').click({ timeout: STEP_TIMEOUT_MS });
    }
    const tryOut = op.locator('button.try-out__btn');
    await tryOut.waitFor({ timeout: STEP_TIMEOUT_MS });
    if ((await tryOut.innerText()).trim().toLowerCase() === 'try it out')
      await tryOut.click({ timeout: STEP_TIMEOUT_MS });
    await op.locator('button.execute').waitFor({ timeout: STEP_TIMEOUT_MS });
    return op;
  }

  /** Try it out → (JSON body) → Execute; waits for the live response panel and reads code and body. */
  async execute(tag: string, operationId: string, body?: unknown): Promise<LiveResponse> {
    const op = await this.tryItOut(tag, operationId);
    // A previous response of this operation would otherwise be read as this one's.
    const clear = op.locator('button.btn-clear');
    if (await clear.isVisible()) await clear.click({ timeout: STEP_TIMEOUT_MS });
    const table = op.locator('.responses-wrapper .live-responses-table');
    await table.waitFor({ state: 'detached', timeout: STEP_TIMEOUT_MS });
    if (body !== undefined) {
      await op.locator('textarea.body-param__text').fill(JSON.stringify(body, null, 2), { timeout: STEP_TIMEOUT_MS });
    }
    const sent = this.page.waitForRequest((request) => new URL(request.url()).pathname.startsWith('/api/'), {
      timeout: STEP_TIMEOUT_MS,
    });
    await op.locator('button.execute').click({ timeout: STEP_TIMEOUT_MS });
    const requestHeaders = await (await sent).allHeaders();
    const status = table.locator('tbody tr.response td.response-col_status');
    await status.waitFor({ timeout: STEP_TIMEOUT_MS });
    const code = Number((await status.innerText()).trim().split(/\s+/)[0]);
    const bodyBlock = table.locator('td.response-col_description .highlight-code pre').first();
    const text = (await bodyBlock.count()) > 0 ? (await bodyBlock.innerText()).trim() : '';
    let parsed: unknown;
    try {
      parsed = text === '' ? undefined : JSON.parse(text);
    } catch {
      parsed = text;
    }
    const curl = (await op.locator('.curl-command').innerText({ timeout: STEP_TIMEOUT_MS })).trim();
    return { status: code, text, body: parsed, requestHeaders, curl };
  }

  /** "Authorize" → fill the bearer scheme's value → Authorize → Close. */
  async authorizeBearer(token: string): Promise<void> {
    await this.page.locator('.scheme-container button.authorize').click({ timeout: STEP_TIMEOUT_MS });
    const modal = this.page.locator('.dialog-ux .modal-ux');
    await modal.waitFor({ timeout: STEP_TIMEOUT_MS });
    // Non-OAuth schemes share one form: the bearer scheme's field, then one Authorize / Close pair.
    const form = modal.locator('form').filter({ has: this.page.locator('h4', { hasText: '(http, Bearer)' }) });
    await form.locator('input[aria-label="auth-bearer-value"]').fill(token, { timeout: STEP_TIMEOUT_MS });
    await form.locator('.auth-btn-wrapper button.authorize').click({ timeout: STEP_TIMEOUT_MS });
    // Authorized: the bearer scheme's heading is followed by "Authorized" and its value is masked.
    await form
      .locator('h4:has-text("(http, Bearer)") ~ h6', { hasText: 'Authorized' })
      .waitFor({ timeout: STEP_TIMEOUT_MS });
    await form.locator('.auth-btn-wrapper button.btn-done').click({ timeout: STEP_TIMEOUT_MS });
    await modal.waitFor({ state: 'detached', timeout: STEP_TIMEOUT_MS });
  }
}
