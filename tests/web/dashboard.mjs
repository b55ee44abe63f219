// Drives the dashboard page in Debian's Chromium the way a customer would, and prints what
// it saw as one JSON object on stdout (tests/web/test_dashboard_browser.py asserts on it).
//
// Environment: WEBHOOKD_BASE (http://127.0.0.1:PORT), WEBHOOKD_TOKEN (a JWT), RECEIVER_URL
// (where the new webhook points), OPS_TOKEN (a JWT of a tenant whose webhooks are failing
// and paused), ARTIFACTS (a folder for screenshots), CHROMIUM (optional, default
// /usr/bin/chromium).
import { chromium } from 'playwright-core';
import path from 'node:path';

const base = process.env.WEBHOOKD_BASE;
const token = process.env.WEBHOOKD_TOKEN;
const receiverUrl = process.env.RECEIVER_URL;
const opsToken = process.env.OPS_TOKEN;
const artifacts = process.env.ARTIFACTS;
const WAIT = { timeout: 15000 };

const result = { steps: [], consoleErrors: [] };
const step = (name) => { result.steps.push(name); process.stderr.write(`step: ${name}\n`); };

const browser = await chromium.launch({ executablePath: process.env.CHROMIUM || '/usr/bin/chromium' });
try {
  const context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
  await context.grantPermissions(['clipboard-read', 'clipboard-write'], { origin: base });
  const page = await context.newPage();
  // A CSP violation or a script error shows up as a console error or a page error.
  page.on('console', (m) => {
    if (m.type() === 'error') result.consoleErrors.push(`${m.text()} ${m.location().url}`);
  });
  page.on('pageerror', (e) => result.consoleErrors.push(String(e)));
  const activeId = () => page.evaluate(() => document.activeElement && document.activeElement.id);

  step('sign in through the #token= link (via the / redirect)');
  await page.goto(`${base}/#token=${encodeURIComponent(token)}`);
  await page.locator('#who').waitFor({ state: 'visible', ...WAIT });
  result.urlAfterSignIn = page.url();
  result.storedToken = await page.evaluate(() => sessionStorage.getItem('webhookd.token'));
  result.who = await page.locator('#who-text').textContent();

  step('an API error is shown as the API message');
  await page.getByRole('button', { name: 'New webhook' }).click();
  await page.getByLabel('Endpoint URL').fill('ftp://example.com/hook');
  await page.getByRole('button', { name: 'Create' }).click();
  await page.locator('#error').waitFor({ state: 'visible', ...WAIT });
  result.createError = await page.locator('#error').textContent();

  step('picking events shows the description, schema and example of each type');
  const completed = page.locator('.event-choice', { has: page.getByLabel('verification.completed', { exact: true }) });
  result.eventAbout = await completed.locator('p.hint').first().textContent();
  await completed.getByText('Schema and example of verification.completed').click();
  await completed.locator('pre.schema').waitFor({ state: 'visible', ...WAIT });
  result.eventSchema = await completed.locator('pre.schema').textContent();
  result.eventExample = await completed.locator('pre.example').textContent();
  await page.screenshot({ path: path.join(artifacts, 'dashboard-event-types.png') });

  step('a filter that is not JSON is refused before anything is sent');
  await page.getByLabel('Filter').fill('{"currency": EUR}');
  await page.getByRole('button', { name: 'Create' }).click();
  await page.locator('#error', { hasText: 'Filter is not valid JSON' }).waitFor(WAIT);
  result.filterJsonError = await page.locator('#error').textContent();

  step('create a webhook pointing at the receiver');
  await page.getByLabel('Endpoint URL').fill(receiverUrl);
  await page.getByLabel('Description').fill('<img src=x onerror=alert(1)> Receiver');
  await page.getByLabel('Rate limit').fill('5');
  await page.getByLabel('Filter').fill('{"currency": {"$in": ["EUR", "USD"]}}');
  await page.getByRole('button', { name: 'Create' }).click();
  await page.locator('#secret-dialog[open]').waitFor(WAIT);
  result.secret = await page.locator('#secret-value').inputValue();
  result.secretWarning = await page.locator('#secret-warning').textContent();
  result.focusOnSecret = await activeId();
  await page.getByRole('button', { name: 'Copy' }).click();
  result.clipboard = await page.evaluate(() => navigator.clipboard.readText());
  await page.screenshot({ path: path.join(artifacts, 'dashboard-secret.png') });
  await page.getByRole('button', { name: 'I have stored it' }).click();
  await page.locator('#secret-dialog').waitFor({ state: 'hidden', ...WAIT });
  await page.waitForFunction(() => document.getElementById('secret-value').value === '', null, WAIT);
  result.secretGoneAfterClose = await page.evaluate((s) => !document.body.innerText.includes(s)
    && ![...document.querySelectorAll('input')].some((i) => i.value.includes(s)), result.secret);

  result.factsAfterCreate = await page.locator('#detail-facts').innerText();
  result.detailTitle = await page.locator('#detail-title').textContent();
  result.imagesInPage = await page.locator('img').count();
  step('send a test and see its result');
  await page.getByRole('button', { name: 'Send test event' }).click();
  await page.locator('#test-result').waitFor({ state: 'visible', ...WAIT });
  result.testResult = await page.locator('#test-result').textContent();
  result.focusOnTestResult = await activeId();

  step('see the attempt in the delivery log');
  const row = page.locator('#log-rows tr[id^="delivery-"]').first();
  await row.waitFor(WAIT);
  result.logRow = await row.innerText();
  await row.getByRole('button', { name: /^Attempts of delivery/ }).click();
  const attempts = page.locator('#log-rows tr.attempts:not([hidden])').first();
  await attempts.waitFor(WAIT);
  result.attempts = await attempts.innerText();

  step('retry that delivery; the worker sends it again');
  await row.getByRole('button', { name: /^Retry delivery/ }).click();
  await page.locator('#status', { hasText: 'will be sent again now' }).waitFor(WAIT);
  // Until the log shows the second attempt ended (a condition, bounded by 60 s however
  // slow the machine: 50 tries of 200 ms once ran out under load).
  for (const until = Date.now() + 60000; Date.now() < until;) {
    await page.getByRole('button', { name: 'Show' }).click();
    await page.waitForTimeout(200);
    const cells = await page.locator('#log-rows tr[id^="delivery-"]').first().locator('td').allInnerTexts();
    result.logRowAfterRetry = cells.join(' | ');
    if (cells[3] === '2' && !/sending|pending/.test(cells[2])) break;
  }
  await page.locator('#log-rows tr[id^="delivery-"]').first()
    .getByRole('button', { name: /^Attempts of delivery/ }).click();
  await page.locator('#log-rows tr.attempts:not([hidden])').first().waitFor(WAIT);
  result.attemptsAfterRetry = await page.locator('#log-rows tr.attempts:not([hidden])').first().innerText();
  await page.screenshot({ path: path.join(artifacts, 'dashboard-detail.png'), fullPage: true });

  step('edit it: the form shows the rate limit and the filter; emptied, they are removed');
  await page.getByRole('button', { name: 'Edit' }).click();
  await page.locator('#form-dialog[open]').waitFor(WAIT);
  result.rateLimitInForm = await page.getByLabel('Rate limit').inputValue();
  result.filterInForm = await page.getByLabel('Filter').inputValue();
  await page.getByLabel('Rate limit').fill('');
  await page.getByLabel('Filter').fill('');
  result.orderingInForm = await page.getByLabel('Ordering').inputValue();
  await page.getByLabel('Ordering').selectOption('fifo');
  step('edit it: custom headers and a bearer token');
  await page.getByLabel('Custom headers').fill('X-Customer-Id: cus_42\nX-Env: production');
  await page.getByLabel('How webhookd signs in to your endpoint').selectOption('bearer');
  await page.getByLabel('Token', { exact: true }).fill('page-token-never-shown');
  await page.getByRole('button', { name: 'Save changes' }).click();
  await page.locator('#status', { hasText: 'Webhook saved.' }).waitFor(WAIT);
  result.factsAfterEdit = await page.locator('#detail-facts').innerText();
  step('edit it again: the form shows the headers and keeps the auth');
  await page.getByRole('button', { name: 'Edit' }).click();
  await page.locator('#form-dialog[open]').waitFor(WAIT);
  result.headersInForm = await page.getByLabel('Custom headers').inputValue();
  result.authInForm = await page.locator('#f-auth-type option:checked').textContent();
  result.tokenInPage = await page.evaluate(() => document.body.innerHTML.includes('page-token-never-shown')
    || [...document.querySelectorAll('input')].some((i) => i.value.includes('page-token-never-shown')));
  await page.getByRole('button', { name: 'Save changes' }).click();
  await page.locator('#status', { hasText: 'Webhook saved.' }).waitFor(WAIT);
  result.factsAfterSecondEdit = await page.locator('#detail-facts').innerText();

  step('toggle it off, from the keyboard');
  await page.getByRole('button', { name: 'Disable' }).focus();
  await page.keyboard.press('Enter');
  await page.locator('#status', { hasText: 'Webhook has been disabled.' }).waitFor(WAIT);
  result.focusAfterToggle = await activeId();
  result.factsAfterToggle = await page.locator('#detail-facts').innerText();
  result.toggleLabel = await page.locator('#toggle').textContent();

  step('the list shows status, last triggered and counts');
  await page.getByRole('button', { name: 'Back to the list' }).click();
  const counts = page.locator('td.counts');
  await page.waitForFunction(() => {
    const row = document.querySelector('#webhook-rows tr');
    const cell = row && row.querySelector('td.counts');
    return row.textContent.includes('Inactive') && cell && cell.textContent !== '…';
  }, null, WAIT);
  result.listRow = await page.locator('#webhook-rows tr').first().innerText();
  result.counts = await counts.first().textContent();
  await page.screenshot({ path: path.join(artifacts, 'dashboard-list.png'), fullPage: true });

  step('delete it, after a confirmation');
  await page.getByRole('button', { name: /^Manage / }).first().click();
  await page.locator('#detail').waitFor({ state: 'visible', ...WAIT });
  await page.getByRole('button', { name: 'Delete', exact: true }).click();
  await page.locator('#confirm-dialog[open]').waitFor(WAIT);
  result.confirmText = await page.locator('#confirm-text').textContent();
  result.focusInConfirm = await page.evaluate(() => document.activeElement.textContent);
  await page.getByRole('button', { name: 'Delete webhook' }).click();
  await page.locator('#status', { hasText: 'Webhook deleted successfully.' }).waitFor(WAIT);
  result.emptyShown = await page.locator('#empty').isVisible();

  step('sign out');
  await page.getByRole('button', { name: 'Sign out' }).click();
  await page.locator('#sign-in').waitFor({ state: 'visible', ...WAIT });
  result.tokenAfterSignOut = await page.evaluate(() => sessionStorage.getItem('webhookd.token'));
  result.signOutShownWhenSignedOut = await page.getByRole('button', { name: 'Sign out' }).isVisible();

  step('another tenant: its failing and paused webhooks show their health');
  await page.goto(`${base}/#token=${encodeURIComponent(opsToken)}`);
  await page.locator('#webhook-table').waitFor({ state: 'visible', ...WAIT });
  result.healthCells = await page.locator('#webhook-rows td.health-cell').allInnerTexts();
  result.healthBadges = await page.locator('#webhook-rows td.health-cell .badge').evaluateAll(
    (badges) => badges.map((b) => `${b.className}: ${b.textContent}`));
  result.healthTimes = await page.locator('#webhook-rows td.health-cell time').evaluateAll(
    (times) => times.map((t) => t.dateTime));
  await page.screenshot({ path: path.join(artifacts, 'dashboard-health.png'), fullPage: true });
  await page.locator('#webhook-rows tr', { hasText: 'Paused' })
    .getByRole('button', { name: /^Manage / }).click();
  await page.locator('#detail').waitFor({ state: 'visible', ...WAIT });
  result.opsFacts = await page.locator('#detail-facts').innerText();
  result.done = true;
} catch (err) {
  result.failure = String(err && err.stack ? err.stack : err);
} finally {
  await browser.close();
}
process.stdout.write(`${JSON.stringify(result)}\n`);
