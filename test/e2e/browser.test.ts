import { expect } from 'chai';
import { existsSync, mkdirSync } from 'node:fs';
import { chromium, type Browser, type Page } from 'playwright-core';
import { EXAMPLE_RESOURCE, startExample, type RunningExample } from '../../example-app/example.js';
import { DEMO_USERS, ME_SCOPE_PERMISSION } from '../../example-app/sign-in.js';

/** Debian's `chromium` package; no test downloads a browser. */
const CHROMIUM = '/usr/bin/chromium';
const ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-background-networking',
  '--disable-component-update',
  '--no-first-run',
  '--disable-quic',
  '--disable-sync',
];
const OUTPUT = 'test-output';

/** The slice of the DOM the page-side predicates use (tsconfig has no "dom" lib). */
interface PageGlobals {
  document: { querySelector(selector: string): { textContent: string | null } | null };
}

/** Waits until the element's text is `expected`. A function, not a string: the page's CSP forbids eval. */
async function waitForText(page: Page, selector: string, expected: string): Promise<void> {
  await page.waitForFunction(
    ([sel, text]) => (globalThis as unknown as PageGlobals).document.querySelector(sel)?.textContent === text,
    [selector, expected] as const,
    { timeout: 15_000 },
  );
}

/** Debian's chromium, headless; skips the suite when it is missing, except under CI=true. */
async function launchChromium(suite: Mocha.Context): Promise<Browser> {
  if (!existsSync(CHROMIUM)) {
    if (process.env['CI'] === 'true') throw new Error(`${CHROMIUM} not found: install the Debian package chromium (apt-get install -y chromium)`);
    console.log(`      skipped: ${CHROMIUM} not found; install the Debian package chromium`);
    suite.skip();
  }
  mkdirSync(OUTPUT, { recursive: true });
  // Playwright gives every launch a fresh, temporary profile (user data dir).
  return chromium.launch({ executablePath: CHROMIUM, args: ARGS, timeout: 30_000 });
}

describe('the example page in a real browser (Debian chromium)', function () {
  this.timeout(60_000);
  let browser: Browser | undefined;
  let example: RunningExample | undefined;
  let page: Page;
  const problems: string[] = [];

  before(async function () {
    browser = await launchChromium(this);
    example = await startExample({ mode: 'local', port: 0, host: '127.0.0.1' });
    const context = await browser.newContext({ viewport: { width: 1280, height: 900 }, deviceScaleFactor: 1 });
    page = await context.newPage();
    // A CSP violation, a script error or a failed asset shows up here.
    page.on('pageerror', (error) => problems.push(`pageerror: ${error.message}`));
    page.on('console', (message) => {
      // Chromium logs every 4xx/5xx fetch; the 403 and 502 below are on purpose.
      if (message.type() === 'error' && !message.text().startsWith('Failed to load resource')) problems.push(`console: ${message.text()}`);
    });
  });

  after(async () => {
    await browser?.close();
    await example?.close();
  });

  it('renders the claims the backend verified, with the audience, the role and the BFF stats', async () => {
    await page.goto(example!.url);
    await waitForText(page, '[data-testid="audience"]', EXAMPLE_RESOURCE);
    expect(await page.textContent('#claim-roles')).to.equal('Orders.Read');
    expect(await page.textContent('#claim-countdown')).to.match(/^in \d:\d\d$/);
    // The stats poll ran after the first call: one token request.
    await waitForText(page, '#stat-tokenRequests', '1');
    expect(await page.textContent('#mode')).to.equal('Local mode · Entra ID emulator');
    expect(await page.isVisible('#error')).to.equal(false);
    await page.screenshot({ path: `${OUTPUT}/example-page.png`, fullPage: true });
    expect(problems).to.deep.equal([]);
  });

  it('explains the 403 of the role-guarded route in the error panel', async () => {
    await page.click('button[data-call="/api/admin"]');
    await page.waitForSelector('#error:not([hidden])', { timeout: 10_000 });
    expect(await page.textContent('#error-title')).to.equal('Valid token, but no Orders.Admin role');
    expect(await page.textContent('#resp-status')).to.equal('403');
    expect(await page.textContent('#resp-www-value')).to.include('error="insufficient_scope"');
    await page.screenshot({ path: `${OUTPUT}/example-page-403.png`, fullPage: true });
  });

  it('signs Alice in for real (authorization code + PKCE at the emulator), shows her claims, refreshes, and after Revoke asks to sign in again', async () => {
    await page.goto(example!.url);
    await page.waitForSelector('#obo:not([hidden])', { timeout: 10_000 });
    // A top-level navigation: the BFF, the emulator's authorize endpoint, the BFF's callback, the page.
    await Promise.all([page.waitForURL(/#obo$/, { timeout: 15_000 }), page.click('#sign-in-alice')]);
    await waitForText(page, '[data-testid="me-name"]', DEMO_USERS.alice.name);
    expect(await page.textContent('[data-testid="me-oid"]')).to.equal(DEMO_USERS.alice.oid);
    expect(await page.textContent('[data-testid="me-scp"]')).to.equal(ME_SCOPE_PERMISSION);
    expect(await page.textContent('[data-testid="me-status"]')).to.equal('200');
    await waitForText(page, '[data-testid="session-user"]', DEMO_USERS.alice.name);
    expect(await page.textContent('[data-testid="session-refreshed"]')).to.match(/^not yet/);
    // The app token, beside it: the BFF's app role, no user.
    expect(await page.textContent('[data-testid="app-roles"]')).to.equal('Orders.Read');
    expect(await page.textContent('#app-name')).to.equal('–');
    // The user's tokens stay in the server-side session: the browser holds only an opaque session id.
    const cookies = await page.context().cookies();
    expect(cookies.map((c) => c.name)).to.deep.equal(['bff.sid']);
    expect(cookies[0]!).to.include({ httpOnly: true, sameSite: 'Strict' });
    expect(await page.content()).to.not.include('eyJ');
    await page.screenshot({ path: `${OUTPUT}/example-page-signed-in.png`, fullPage: true });

    await page.click('#refresh-now');
    await page.waitForFunction(
      () => /^\d\d:\d\d:\d\d.* \(1 refresh since sign-in\)$/.test((globalThis as unknown as PageGlobals).document.querySelector('[data-testid="session-refreshed"]')?.textContent ?? ''),
      undefined,
      { timeout: 10_000 },
    );
    expect(await page.textContent('[data-testid="me-name"]')).to.equal(DEMO_USERS.alice.name);
    expect(example!.emulator!.refreshTokenStats).to.include({ redeemed: 1 });

    await page.click('#revoke');
    await page.waitForSelector('[data-testid="sign-in-again"]:not([hidden])', { timeout: 10_000 });
    expect(await page.textContent('[data-testid="me-status"]')).to.equal('401 ERR_USER_SESSION_EXPIRED');
    expect(await page.textContent('#sign-in-again-title')).to.equal('Your session has ended.');
    expect(await page.textContent('[data-testid="session-user"]')).to.equal(`${DEMO_USERS.alice.name} (session ended)`);
    expect(await page.textContent('[data-testid="me-name"]')).to.equal('–');
    await page.screenshot({ path: `${OUTPUT}/example-page-session-ended.png`, fullPage: true });

    // Sign in again, as Bob this time, from the prompt.
    await Promise.all([page.waitForURL(/#obo$/, { timeout: 15_000 }), page.click('#sign-in-again-buttons button:has-text("Bob")')]);
    await waitForText(page, '[data-testid="me-name"]', DEMO_USERS.bob.name);
    expect(await page.isVisible('[data-testid="sign-in-again"]')).to.equal(false);
    await page.click('#sign-out');
    await waitForText(page, '[data-testid="me-status"]', '401 ERR_USER_TOKEN_MISSING');
    expect(await page.textContent('[data-testid="me-name"]')).to.equal('–');
    expect(problems).to.deep.equal([]);
  });

  it('shows the IdP failure when the emulator refuses the secret, and recovers once healed', async () => {
    await page.click('button[data-demo="idp-refuses"]');
    await waitForText(page, '#error-title', 'Entra ID refused to issue a token');
    expect(await page.textContent('#resp-status')).to.equal('502');
    await waitForText(page, '#stat-lastErrorCode', 'ERR_IDP_REJECTED');
    await page.screenshot({ path: `${OUTPUT}/example-page-idp-error.png`, fullPage: true });

    // The failure is remembered for failureCooldownMs (2 s); heal, then call after it.
    await page.waitForTimeout(2_100);
    await page.click('button[data-demo="heal"]');
    await page.waitForSelector('#error', { state: 'hidden', timeout: 10_000 });
    expect(await page.textContent('#resp-status')).to.equal('200');
    expect(problems).to.deep.equal([]);
  });
});

describe('the live chart in a real browser (Debian chromium)', function () {
  this.timeout(60_000);
  let browser: Browser | undefined;
  let example: RunningExample | undefined;

  before(async function () {
    browser = await launchChromium(this);
    // 4 s tokens: the BFF refreshes them after 2 s, so the chart shows a refresh within the test.
    example = await startExample({ mode: 'local', port: 0, host: '127.0.0.1' }, { tokenLifetimeSeconds: 4 });
  });

  after(async () => {
    await browser?.close();
    await example?.close();
  });

  it('draws the remaining lifetime, the requests per second and a mark at the refresh', async () => {
    const page = await (await browser!.newContext({ viewport: { width: 1280, height: 900 }, deviceScaleFactor: 1 })).newPage();
    const problems: string[] = [];
    page.on('pageerror', (error) => problems.push(`pageerror: ${error.message}`));
    await page.goto(example!.url);
    await waitForText(page, '[data-testid="audience"]', EXAMPLE_RESOURCE);
    // Past the refresh point, a call starts the background refresh.
    await page.waitForTimeout(2_300);
    await page.click('button[data-call="/api/whoami"]');
    await page.waitForFunction(
      () => Number((globalThis as unknown as ChartGlobals).document.querySelector('#chart')?.dataset.refreshes ?? 0) >= 2,
      undefined,
      { timeout: 15_000 },
    );
    await page.waitForFunction(() => Number((globalThis as unknown as ChartGlobals).document.querySelector('#chart')?.dataset.points ?? 0) >= 3, undefined, {
      timeout: 15_000,
    });
    const drawn = await page.evaluate(() => {
      const doc = (globalThis as unknown as ChartGlobals).document;
      return {
        points: doc.querySelectorAll('#chart circle.point').length,
        lines: doc.querySelectorAll('#chart polyline.lifetime').length,
        refreshMarks: doc.querySelectorAll('#chart line.mark-refresh').length,
        bars: doc.querySelectorAll('#chart rect.rps-bar').length,
        caption: doc.querySelector('#chart-caption')?.textContent ?? '',
      };
    });
    expect(drawn.points).to.be.at.least(3);
    expect(drawn.lines).to.be.at.least(1);
    expect(drawn.refreshMarks).to.be.at.least(2); // the first token and the refreshed one
    expect(drawn.bars).to.be.at.least(1);
    expect(drawn.caption).to.match(/^Token left: \d+ s · [\d.]+ requests\/s · \d+ new tokens, 0 failures/);
    await page.locator('#chart-card').screenshot({ path: `${OUTPUT}/example-chart.png` });
    expect(problems).to.deep.equal([]);
  });
});

/** The slice of the DOM the chart predicates use. */
interface ChartGlobals {
  document: {
    querySelector(selector: string): { dataset: Record<string, string | undefined>; textContent: string | null } | null;
    querySelectorAll(selector: string): { length: number };
  };
}
