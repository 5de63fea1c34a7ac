import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import { existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type Browser, chromium, type Page } from 'playwright-core';
import { createKey, createTenant, event, type EventInput, ingest } from './support/api';
import { eventually, TestStack } from './support/harness';

/** Debian's chromium (`apt-get install -y chromium`; .ci/run installs it when missing). */
const CHROMIUM = '/usr/bin/chromium';
const FLAGS = [
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];
/** DASHBOARD_SCREENSHOT=docs/live-dashboard.png refreshes the one in the docs. */
const SCREENSHOT = process.env.DASHBOARD_SCREENSHOT ?? join(tmpdir(), 'tally-dashboard.png');

/**
 * helmet's default Content-Security-Policy, which the service's security headers are
 * expected to send: the page must work under it (no inline script, nothing off-site).
 */
const CSP = [
  "default-src 'self'",
  "base-uri 'self'",
  "font-src 'self' https: data:",
  "form-action 'self'",
  "frame-ancestors 'self'",
  "img-src 'self' data:",
  "object-src 'none'",
  "script-src 'self'",
  "script-src-attr 'none'",
  "style-src 'self' https: 'unsafe-inline'",
  'upgrade-insecure-requests',
].join(';');

const MINUTE = 60_000;
const CUSTOMERS = ['acme-corp', 'globex', 'initech', 'umbrella', 'hooli', 'stark-ind'];

/** An hour of calls, busier for the first customers, so the chart and the top list have a shape. */
function lastHour(now: number) {
  const events: EventInput[] = [];
  for (let m = 59; m >= 1; m--) {
    const minute = Math.floor((now - m * MINUTE) / MINUTE) * MINUTE;
    CUSTOMERS.forEach((customerId, rank) => {
      const calls = Math.round((6 - rank) * (2 + Math.sin((m + rank) / 6) * 1.5));
      for (let i = 0; i < calls; i++) {
        events.push(
          event({
            timestamp: new Date(minute + ((i * 7919 + rank * 104_729) % MINUTE)).toISOString(),
            customerId,
            apiEndpoint: '/v1/chat/completions',
            metadata: { inputTokens: 300 + 40 * rank, outputTokens: 500 + 25 * i, model: 'gpt-4o' },
          }),
        );
      }
    });
  }
  return events;
}

describe('the live page, in a real browser', () => {
  let stack: TestStack;
  let app: NestFastifyApplication;
  let url: string;
  let browser: Browser;
  let page: Page;
  let key: string;
  const problems: string[] = [];

  beforeAll(async () => {
    if (!existsSync(CHROMIUM)) {
      throw new Error(
        `${CHROMIUM} is missing: sudo apt-get install -y chromium (bash .ci/run does)`,
      );
    }
    // 30 s windows, as in production; an hour of lateness so the last hour is counted in Redis.
    stack = await TestStack.create({
      WINDOW_SECONDS: '30',
      WINDOW_GRACE_SECONDS: '1',
      MAX_LATENESS_SECONDS: '3600',
      DEDUP_TTL_SECONDS: '60',
    });
    app = await stack.start();
    await app.listen({ port: 0, host: '127.0.0.1' });
    const address = app.getHttpServer().address();
    url = `http://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}`;

    const tenant = await createTenant(app, 'dashboard');
    key = await createKey(app, tenant.key, ['read']);
    const history = lastHour(Date.now());
    for (let i = 0; i < history.length; i += 1000) {
      expect((await ingest(app, tenant.key, history.slice(i, i + 1000))).status).toBe(202);
    }
    // The page reads closed windows: wait until the closer has written the hour.
    await eventually(async () => {
      const { rows } = await stack.pg.query(
        'SELECT coalesce(sum(total_calls), 0)::int AS calls FROM aggregation_windows WHERE tenant_id = $1',
        [tenant.tenantId],
      );
      expect(rows[0].calls).toBe(history.length);
    }, 30_000);
    (globalThis as { tallyIngestKey?: string }).tallyIngestKey = tenant.key;

    browser = await chromium.launch({ executablePath: CHROMIUM, headless: true, args: FLAGS });
    page = await browser.newPage({ viewport: { width: 1280, height: 760 } });
    // The page's own document arrives with the policy, whether or not the service sends one.
    await page.route(`${url}/dashboard`, async (route) => {
      const response = await route.fetch();
      await route.fulfill({
        response,
        headers: { ...response.headers(), 'content-security-policy': CSP },
      });
    });
    page.on('console', (message) => {
      // Refusals are recorded with their URL below; everything else is a problem.
      if (message.type() === 'error' && !message.text().startsWith('Failed to load resource')) {
        problems.push(`console: ${message.text()}`);
      }
    });
    page.on('response', (response) => {
      if (response.status() >= 400) problems.push(`${response.status()} ${response.url()}`);
    });
    page.on('pageerror', (error) => problems.push(`page: ${error.message}`));
    page.on('requestfailed', (request) => {
      // Streams end when the page reconnects them; and offline is offline.
      if (
        !request.url().includes('/v1/stream') &&
        request.failure()?.errorText !== 'net::ERR_INTERNET_DISCONNECTED'
      ) {
        problems.push(`request: ${request.url()} ${request.failure()?.errorText}`);
      }
    });
  });

  afterAll(async () => {
    await browser?.close();
    await stack?.dispose();
  });

  const ingestKey = () => (globalThis as { tallyIngestKey?: string }).tallyIngestKey!;

  it('signs in with a key and goes live', async () => {
    await page.goto(`${url}/dashboard`);
    await page.fill('#api-key', 'tly_wrong_key');
    await page.click('button[type=submit]');
    await page.waitForSelector('#sign-in-error:text("The API key is unknown.")');
    expect(problems.splice(0)).toEqual([`401 ${url}/v1/auth/token`]);

    await page.fill('#api-key', key);
    await page.click('button[type=submit]');
    await page.waitForSelector('#status[data-state=live]', { timeout: 10_000 });
    expect(await page.isVisible('#live')).toBe(true);
    expect(await page.inputValue('#api-key')).toBe('');
  });

  const post = async (customerId: string, n: number) => {
    const events = Array.from({ length: n }, () =>
      event({
        timestamp: new Date().toISOString(),
        customerId,
        apiEndpoint: '/v1/chat/completions',
        metadata: { inputTokens: 900, outputTokens: 400, model: 'gpt-4o' },
      }),
    );
    expect((await ingest(app, ingestKey(), events)).status).toBe(202);
  };
  const cell = (customerId: string, field: 'calls' | 'tokens') =>
    page.locator(`#minute tr[data-customer="${customerId}"] td[data-field="${field}"]`);

  it("shows a customer's calls of this minute rising as events arrive", async () => {
    // Every batch of these tests must land in the same minute.
    if (Date.now() % MINUTE > 40_000) await page.waitForTimeout(MINUTE - (Date.now() % MINUTE));
    await post('acme-corp', 5);
    await expectText(cell('acme-corp', 'calls'), '5');
    await post('acme-corp', 37);
    await expectText(cell('acme-corp', 'calls'), '42');
    await expectText(cell('acme-corp', 'tokens'), '54,600');
  });

  it('catches up after losing its connection: the stream resumes, nothing is missed', async () => {
    // Offline for new requests, and the open stream cut from the server's side.
    await page.context().setOffline(true);
    app.getHttpServer().closeAllConnections();
    await page.waitForSelector('#status[data-state=connecting]', { timeout: 10_000 });
    await post('acme-corp', 8);
    await post('globex', 3);
    await page.context().setOffline(false);
    await page.waitForSelector('#status[data-state=live]', { timeout: 10_000 });
    await expectText(cell('acme-corp', 'calls'), '50');
    await expectText(cell('globex', 'calls'), '3');
  });

  it('draws the last hour and the top customers, with nothing failing on the page', async () => {
    for (const [customerId, n] of [
      ['initech', 17],
      ['umbrella', 9],
      ['hooli', 4],
    ] as const) {
      await post(customerId, n);
    }
    await expectText(cell('hooli', 'calls'), '4');
    expect(
      await page
        .locator('#minute tbody tr')
        .evaluateAll((rows) => rows.map((tr) => tr.getAttribute('data-customer'))),
    ).toEqual(['acme-corp', 'initech', 'umbrella', 'hooli', 'globex']);
    await page.waitForSelector('#chart canvas');
    const top = await page
      .locator('#top li')
      .evaluateAll((items) => items.map((li) => li.getAttribute('data-customer')));
    expect(top[0]).toBe('acme-corp');
    expect(top).toHaveLength(5);
    await page.waitForTimeout(1200); // one redraw with everything in
    await page.screenshot({ path: SCREENSHOT, fullPage: true });
    expect(problems).toEqual([]);
  });
});

async function expectText(
  locator: ReturnType<Page['locator']>,
  text: string,
  timeoutMs = 5000,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let seen = '';
  while (Date.now() < deadline) {
    seen = (await locator.textContent({ timeout: 1000 }).catch(() => '')) ?? '';
    if (seen === text) return;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error(`expected "${text}", the page shows "${seen}"`);
}
