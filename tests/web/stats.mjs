// Opens one webhook's statistics in Debian's Chromium and prints what the chart shows as
// one JSON object on stdout (tests/web/test_stats_browser.py asserts on it).
//
// Environment: WEBHOOKD_BASE, WEBHOOKD_TOKEN, ARTIFACTS (a folder for the screenshot),
// CHROMIUM (optional, default /usr/bin/chromium).
import { chromium } from 'playwright-core';
import path from 'node:path';

const base = process.env.WEBHOOKD_BASE;
const token = process.env.WEBHOOKD_TOKEN;
const WAIT = { timeout: 15000 };
const result = { steps: [], consoleErrors: [] };
const step = (name) => { result.steps.push(name); process.stderr.write(`step: ${name}\n`); };

const chart = (page) => page.evaluate(() => {
  const svg = document.querySelector('#stats-chart svg');
  return {
    buckets: Number(svg.getAttribute('data-buckets')),
    bars: svg.querySelectorAll('g.bar').length,
    volumes: [...svg.querySelectorAll('g.bar')].map((g) => Number(g.getAttribute('data-volume'))),
    failedSegments: svg.querySelectorAll('rect.seg.failed').length,
    rateDots: svg.querySelectorAll('circle.rate-dot').length,
    label: svg.getAttribute('aria-label'),
  };
});

const browser = await chromium.launch({ executablePath: process.env.CHROMIUM || '/usr/bin/chromium' });
try {
  const page = await (await browser.newContext({ viewport: { width: 1280, height: 1000 } })).newPage();
  page.on('console', (m) => { if (m.type() === 'error') result.consoleErrors.push(m.text()); });
  page.on('pageerror', (e) => result.consoleErrors.push(String(e)));

  step('the list shows the 24 h success rate');
  await page.goto(`${base}/ui#token=${encodeURIComponent(token)}`);
  await page.locator('#webhook-table').waitFor({ state: 'visible', ...WAIT });
  await page.waitForFunction(() => {
    const cell = document.querySelector('#webhook-rows td.rate');
    return cell && cell.textContent !== '…';
  }, null, WAIT);
  result.listRate = await page.locator('#webhook-rows td.rate').first().textContent();

  step('the webhook: chart of the last 24 hours');
  await page.getByRole('button', { name: /^Manage / }).first().click();
  await page.locator('#stats-chart svg').waitFor(WAIT);
  result.day = await chart(page);
  result.facts = await page.locator('#stats-facts').innerText();
  result.detailFacts = await page.locator('#detail-facts').innerText();
  await page.locator('#stats-figure').scrollIntoViewIfNeeded();
  await page.screenshot({ path: path.join(process.env.ARTIFACTS, 'dashboard-stats.png'), fullPage: true });

  step('the last 7 days');
  await page.getByLabel('Window').selectOption('7d');
  await page.waitForFunction(() => document.querySelector('#stats-chart svg').getAttribute('data-buckets') === '7', null, WAIT);
  result.week = await chart(page);
  result.done = true;
} catch (err) {
  result.failure = String(err && err.stack ? err.stack : err);
} finally {
  await browser.close();
}
process.stdout.write(`${JSON.stringify(result)}\n`);
