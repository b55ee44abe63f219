// The webhookd dashboard page: calls the Dashboard API with the JWT kept in sessionStorage.
// Every value from the API reaches the page through textContent or a form field's value,
// never as HTML. No inline script: the page's Content-Security-Policy forbids it.

import { statsChart } from './chart.js';

const TOKEN_KEY = 'webhookd.token';
const COUNT_WINDOW = 100; // deliveries read per webhook for the success/failure counts
const $ = (id) => document.getElementById(id);

const state = {
  eventTypes: [],
  webhooks: [],
  current: null, // the webhook shown in the detail section
  logCursor: null,
  editing: null, // null: the form creates; otherwise the webhook being edited
};

// ---- talking to the API -------------------------------------------------------------

class ApiError extends Error {
  constructor(status, message) {
    super(message);
    this.status = status;
  }
}

function token() {
  return sessionStorage.getItem(TOKEN_KEY);
}

async function api(method, path, body) {
  const headers = { Authorization: `Bearer ${token()}` };
  const init = { method, headers, cache: 'no-store' };
  if (body !== undefined) {
    headers['Content-Type'] = 'application/json';
    init.body = JSON.stringify(body);
  }
  let answer;
  try {
    answer = await fetch(`dashboard/${path}`, init); // relative: works behind a path prefix
  } catch (err) {
    throw new ApiError(0, `Could not reach webhookd (${err.message}).`);
  }
  let json = null;
  try {
    json = await answer.json();
  } catch {
    // not JSON: a proxy's error page, for instance
  }
  if (!answer.ok) {
    const message = json && typeof json.message === 'string' ? json.message : `HTTP ${answer.status}`;
    if (answer.status === 401) signOut(`Your token was refused: ${message} Sign in again.`);
    throw new ApiError(answer.status, message);
  }
  return json;
}

const enc = encodeURIComponent;
const eventsText = (events) => (events.includes('*') ? 'all events' : events.join(', '));

// ---- messages -----------------------------------------------------------------------

function say(text) {
  $('status').textContent = text;
  hideError();
}

function showError(text) {
  const box = $('error');
  box.textContent = text;
  box.hidden = false;
  box.focus();
}

function hideError() {
  $('error').hidden = true;
  $('error').textContent = '';
}

// Run an action; show the API's message if it fails. Buttons are disabled meanwhile.
async function attempt(button, action) {
  if (button) button.disabled = true;
  try {
    hideError();
    return await action();
  } catch (err) {
    if (!(err instanceof ApiError && err.status === 401)) showError(err.message);
    return undefined;
  } finally {
    if (button) {
      button.disabled = false;
      // Disabling the focused button dropped focus to <body>: give it back to keyboard users.
      const lost = document.activeElement === document.body || document.activeElement === null;
      if (lost && button.isConnected && button.offsetParent !== null) button.focus();
    }
  }
}

// ---- small DOM helpers --------------------------------------------------------------

function el(tag, props = {}, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(props)) {
    if (key === 'text') node.textContent = value;
    else if (key === 'class') node.className = value;
    else if (key === 'on') for (const [type, fn] of Object.entries(value)) node.addEventListener(type, fn);
    else if (key in node && !key.startsWith('aria')) node[key] = value;
    else node.setAttribute(key, value);
  }
  for (const child of children) if (child !== null && child !== undefined) node.append(child);
  return node;
}

function when(iso) {
  if (!iso) return el('span', { class: 'muted', text: 'never' });
  const moment = new Date(iso);
  return el('time', { dateTime: iso, title: iso, text: moment.toLocaleString() });
}

function badge(kind, text) {
  return el('span', { class: `badge ${kind}`, text });
}

function statusBadge(status) {
  return badge(status === 'delivered' ? 'ok' : status === 'failed' ? 'bad' : 'wait', status);
}

// A webhook's health, as the API reports it. A disabled webhook is sent nothing, so it
// shows none (enabling it again starts it healthy).
const HEALTH = { healthy: ['ok', 'Healthy'], failing: ['bad', 'Failing'], paused: ['wait', 'Paused'] };

function healthBadge(w) {
  if (!w.active || !w.health) return el('span', { class: 'muted', text: '—', title: 'Disabled: nothing is sent' });
  const [kind, text] = HEALTH[w.health.status] || ['off', w.health.status];
  return el('span', { class: 'health' }, badge(kind, text), healthNote(w.health));
}

function healthNote(h) {
  if (h.status === 'paused') {
    return el('div', { class: 'muted' }, 'next probe at ', when(h.nextProbeAt));
  }
  if (h.status !== 'failing') return null;
  const row = h.consecutiveFailures ? `${h.consecutiveFailures} in a row` : null;
  if (!h.failingSince) return el('div', { class: 'muted', text: `failing, ${row}` });
  return el('div', { class: 'muted' }, 'failing since ', when(h.failingSince), row ? ` (${row})` : null);
}

function filterText(w) {
  return w.filter ? el('code', { text: JSON.stringify(w.filter) }) : 'none (every event)';
}

// An event type in the form: its checkbox, then its description, schema and example.
function eventChoice(type, i, chosen) {
  const id = `f-event-${i}`;
  const about = [];
  if (type.description) about.push(el('p', { class: 'hint', id: `${id}-about`, text: type.description }));
  if (type.schema || type.example) {
    about.push(el('details', { class: 'event-schema' },
      el('summary', { text: `${type.schema && type.example ? 'Schema and example' : type.schema ? 'Schema' : 'Example'} of ${type.name}` }),
      type.schema ? el('p', { class: 'hint', text: 'Its data matches this JSON Schema:' }) : null,
      type.schema ? el('pre', { class: 'excerpt schema', text: JSON.stringify(type.schema, null, 2) }) : null,
      type.example ? el('p', { class: 'hint', text: 'Example data:' }) : null,
      type.example ? el('pre', { class: 'excerpt example', text: JSON.stringify(type.example, null, 2) }) : null));
  }
  const box = el('input', { type: 'checkbox', id, name: 'events', value: type.name, checked: chosen.has(type.name) });
  if (type.description) box.setAttribute('aria-describedby', `${id}-about`);
  return el('div', { class: 'event-choice' },
    el('div', { class: 'check' }, box, el('label', { htmlFor: id, text: type.name })), ...about);
}

function rateLimitText(w) {
  return w.rateLimit ? `${w.rateLimit} deliveries per second at most` : 'none';
}

function headersText(w) {
  const lines = Object.entries(w.headers || {}).map(([name, value]) => `${name}: ${value}`);
  return lines.length ? lines.join('\n') : 'none';
}

function authText(w) {
  const a = w.auth;
  if (!a) return 'none';
  if (a.type === 'basic') return `HTTP Basic, username ${a.username}`;
  if (a.type === 'bearer') return 'Bearer token';
  if (a.type === 'header') return `Header ${a.name}`;
  return `OAuth2 client credentials, client ${a.clientId} at ${a.tokenUrl}`;
}

// "Name: value" lines -> {Name: value}; the server checks names and values.
function parseHeaders(text) {
  const headers = {};
  for (const line of text.split('\n')) {
    if (!line.trim()) continue;
    const at = line.indexOf(':');
    if (at < 1) throw new Error(`Custom headers: "${line.trim()}" is not a Name: value line.`);
    headers[line.slice(0, at).trim()] = line.slice(at + 1).trim();
  }
  return headers;
}

const AUTH_FIELDS = {
  basic: { username: 'f-auth-username', password: 'f-auth-password' },
  bearer: { token: 'f-auth-token' },
  header: { name: 'f-auth-name', value: 'f-auth-value' },
  oauth2: {
    tokenUrl: 'f-auth-token-url', clientId: 'f-auth-client-id',
    clientSecret: 'f-auth-client-secret', scope: 'f-auth-scope',
  },
};

function syncAuth() {
  const type = $('f-auth-type').value;
  for (const box of $('f-auth').querySelectorAll('[data-auth]')) {
    const shown = box.dataset.auth === type;
    box.hidden = !shown;
    for (const input of box.querySelectorAll('input')) {
      input.disabled = !shown;
      input.required = shown && input.id !== 'f-auth-scope' && input.id !== 'f-auth-password';
    }
  }
}

// What the form says of auth: undefined keeps it (left out of a PATCH), null removes it.
function authFromForm() {
  const type = $('f-auth-type').value;
  if (type === 'keep') return undefined;
  if (type === 'none') return null;
  const auth = { type };
  for (const [key, id] of Object.entries(AUTH_FIELDS[type])) {
    const value = $(id).value;
    if (key !== 'scope' || value.trim()) auth[key] = key === 'scope' ? value.trim() : value;
  }
  return auth;
}

// ---- signing in and out -------------------------------------------------------------

function claims(jwt) {
  try {
    const part = jwt.split('.')[1].replace(/-/g, '+').replace(/_/g, '/');
    return JSON.parse(atob(part));
  } catch {
    return {};
  }
}

function takeTokenFromFragment() {
  const fragment = new URLSearchParams(window.location.hash.slice(1));
  const given = fragment.get('token');
  if (given === null) return;
  if (given.trim()) sessionStorage.setItem(TOKEN_KEY, given.trim());
  // Remove it from the address bar and the history entry, so it is not bookmarked or shared.
  history.replaceState(null, '', window.location.pathname + window.location.search);
}

function signOut(reason) {
  sessionStorage.removeItem(TOKEN_KEY);
  state.current = null;
  state.webhooks = [];
  $('webhook-rows').replaceChildren();
  $('who').hidden = true;
  $('webhooks').hidden = true;
  $('detail').hidden = true;
  $('sign-in').hidden = false;
  $('token-input').value = '';
  if (reason) showError(reason);
  else say('Signed out.');
  if (!reason) $('token-input').focus();
}

async function start() {
  takeTokenFromFragment();
  if (!token()) {
    $('sign-in').hidden = false;
    $('token-input').focus();
    return;
  }
  const c = claims(token());
  const who = typeof c.sub === 'string' ? c.sub : 'token';
  const until = typeof c.exp === 'number' ? `, until ${new Date(c.exp * 1000).toLocaleString()}` : '';
  $('who-text').textContent = `Signed in as ${who}${until}`;
  const loaded = await attempt(null, async () => {
    const types = await api('GET', 'event-types');
    state.eventTypes = types.data; // name, description, schema, example
    await loadWebhooks();
    return true;
  });
  if (!loaded) return;
  $('sign-in').hidden = true;
  $('who').hidden = false;
  $('webhooks').hidden = false;
  say(`Signed in. ${state.webhooks.length} webhook${state.webhooks.length === 1 ? '' : 's'}.`);
  $('main').focus();
}

// ---- the list -----------------------------------------------------------------------

async function loadWebhooks() {
  const answer = await api('GET', 'webhooks');
  state.webhooks = answer.data;
  renderWebhooks();
  countDeliveries(state.webhooks.map((w) => w.id));
}

function renderWebhooks() {
  const rows = state.webhooks.map((w) => {
    const cells = [
      el('td', {}, el('span', { class: 'url', text: w.url }),
        w.description ? el('div', { class: 'muted', text: w.description }) : null),
      el('td', { text: eventsText(w.events) }),
      el('td', {}, w.active ? badge('ok', 'Active') : badge('off', 'Inactive'),
        w.disabledReason ? el('div', { class: 'muted', text: w.disabledReason }) : null),
      el('td', { class: 'health-cell' }, healthBadge(w)),
      el('td', {}, when(w.lastTriggeredAt)),
      el('td', { id: `counts-${w.id}`, class: 'counts', text: '…' }),
      el('td', { id: `rate-${w.id}`, class: 'rate', text: '…' }),
      el('td', {}, el('button', {
        type: 'button', class: 'secondary', text: 'Manage',
        'aria-label': `Manage ${w.url}`,
        on: { click: () => openDetail(w.id) },
      })),
    ];
    return el('tr', { id: `row-${w.id}` }, ...cells);
  });
  $('webhook-rows').replaceChildren(...rows);
  $('webhook-table').hidden = rows.length === 0;
  $('empty').hidden = rows.length !== 0;
}

// Success/failure counts are not fields of a webhook: they are counted from its most recent
// deliveries in the delivery log (at most COUNT_WINDOW of them), a few webhooks at a time.
async function countDeliveries(ids) {
  const queue = [...ids];
  const work = async () => {
    while (queue.length) {
      const id = queue.shift();
      const cell = () => document.getElementById(`counts-${id}`);
      try {
        const answer = await api('GET', `webhooks/${enc(id)}/deliveries?limit=${COUNT_WINDOW}`);
        const tally = { delivered: 0, failed: 0, pending: 0 };
        for (const d of answer.data) tally[d.status] += 1;
        const target = cell();
        if (!target) continue;
        const parts = [
          el('span', { class: 'ok-text', text: `${tally.delivered} delivered` }),
          ', ',
          el('span', { class: tally.failed ? 'bad-text' : '', text: `${tally.failed} failed` }),
        ];
        if (tally.pending) parts.push(`, ${tally.pending} pending`);
        target.replaceChildren(...parts);
        target.title = answer.nextCursor ? `Of the last ${COUNT_WINDOW} deliveries` : 'All deliveries';
      } catch (err) {
        const target = cell();
        if (target) target.textContent = 'unavailable';
      }
      await showRate(id);
    }
  };
  await Promise.all([work(), work(), work()]);
}

// The 24 h success rate of one webhook in the list (GET …/stats).
async function showRate(id) {
  let text = 'unavailable';
  let kind = '';
  try {
    const stats = (await api('GET', `webhooks/${enc(id)}/stats?window=24h`)).data;
    text = stats.successRate === null ? '—' : `${(stats.successRate * 100).toFixed(1)} %`;
    if (stats.successRate !== null) kind = stats.successRate >= 0.95 ? 'ok-text' : 'bad-text';
  } catch {
    // the cell says so
  }
  const target = document.getElementById(`rate-${id}`);
  if (target) {
    target.textContent = text;
    target.className = `rate ${kind}`;
  }
}

// ---- one webhook --------------------------------------------------------------------

function find(id) {
  return state.webhooks.find((w) => w.id === id);
}

async function openDetail(id) {
  await attempt(null, async () => {
    const answer = await api('GET', `webhooks/${enc(id)}`);
    showDetail(answer.data);
    $('test-result').hidden = true;
    $('detail-title').focus();
    await loadStats();
    await loadLog(false);
  });
}

function showDetail(webhook) {
  state.current = webhook;
  $('webhooks').hidden = true;
  $('detail').hidden = false;
  $('detail-title').textContent = webhook.description || webhook.url;
  const facts = [
    ['Endpoint', el('span', { class: 'url', text: webhook.url })],
    ['Id', el('code', { text: webhook.id })],
    ['Events', eventsText(webhook.events)],
    ['Status', webhook.active ? badge('ok', 'Active') : badge('off', 'Inactive')],
    ['Health', healthBadge(webhook)],
    ['Rate limit', rateLimitText(webhook)],
    ['Ordering', webhook.ordering === 'fifo' ? 'in order, one at a time (fifo)' : 'concurrent'],
    ['Filter', filterText(webhook)],
    ['Custom headers', headersText(webhook)],
    ['Authentication', authText(webhook)],
    ['Created', when(webhook.createdAt)],
    ['Last triggered', when(webhook.lastTriggeredAt)],
  ];
  if (webhook.disabledReason) facts.push(['Disabled because', webhook.disabledReason]);
  $('detail-facts').replaceChildren(...facts.flatMap(([term, value]) => [
    el('dt', { text: term }), el('dd', {}, value),
  ]));
  $('toggle').textContent = webhook.active ? 'Disable' : 'Enable';
}

async function backToList() {
  state.current = null;
  $('detail').hidden = true;
  $('webhooks').hidden = false;
  await attempt(null, loadWebhooks);
  $('webhooks-title').focus();
}

async function reloadCurrent() {
  const answer = await api('GET', `webhooks/${enc(state.current.id)}`);
  showDetail(answer.data);
}

// ---- statistics ---------------------------------------------------------------------

async function loadStats() {
  const window_ = $('stats-window').value;
  const stats = (await api('GET', `webhooks/${enc(state.current.id)}/stats?window=${enc(window_)}`)).data;
  const rate = stats.successRate === null ? '—' : `${(stats.successRate * 100).toFixed(1)} %`;
  const latency = stats.p50Ms === null ? '—' : `p50 ${stats.p50Ms} ms, p95 ${stats.p95Ms} ms`;
  const facts = [
    ['Success rate', el('span', { id: 'stats-rate', text: rate })],
    ['Deliveries', `${stats.delivered} delivered, ${stats.failed} failed, ${stats.retrying + stats.pending} waiting`],
    ['Attempt latency', latency],
    ['Last success', when(stats.lastSuccessAt)],
    ['Last failure', when(stats.lastFailureAt)],
  ];
  $('stats-facts').replaceChildren(...facts.flatMap(([term, value]) => [
    el('dt', { text: term }), el('dd', {}, value),
  ]));
  $('stats-chart').replaceChildren(statsChart(stats));
}

// ---- the delivery log ---------------------------------------------------------------

async function loadLog(more) {
  const params = new URLSearchParams({ limit: '20' });
  const status = $('log-status').value;
  if (status) params.set('status', status);
  if (more && state.logCursor) params.set('cursor', state.logCursor);
  const answer = await api('GET', `webhooks/${enc(state.current.id)}/deliveries?${params}`);
  state.logCursor = answer.nextCursor;
  const rows = answer.data.flatMap(deliveryRows);
  if (more) $('log-rows').append(...rows);
  else $('log-rows').replaceChildren(...rows);
  const any = $('log-rows').children.length > 0;
  $('log-table').hidden = !any;
  $('log-empty').hidden = any;
  $('log-more').hidden = !answer.nextCursor;
}

function deliveryRows(d) {
  const detailId = `attempts-${d.id}`;
  const detail = el('tr', { id: detailId, class: 'attempts', hidden: true },
    el('td', { colSpan: 6 }));
  const show = el('button', {
    type: 'button', class: 'secondary', text: 'Attempts',
    'aria-expanded': 'false', 'aria-controls': detailId,
    'aria-label': `Attempts of delivery ${d.id}`,
  });
  show.addEventListener('click', () => attempt(show, () => toggleAttempts(d, show, detail)));
  const retry = el('button', {
    type: 'button', class: 'secondary', text: 'Retry',
    'aria-label': `Retry delivery ${d.id}`,
  });
  retry.addEventListener('click', () => attempt(retry, () => retryDelivery(d)));
  const shown = d.inFlight ? 'sending' : d.status;
  const row = el('tr', { id: `delivery-${d.id}` },
    el('td', {}, when(d.createdAt)),
    el('td', {}, el('code', { text: d.event })),
    el('td', {}, statusBadge(shown),
      d.blockedBy ? el('div', { class: 'muted' }, 'waits for ', el('code', { text: d.blockedBy }))
        : d.nextAttemptAt && d.status === 'pending' ? el('div', { class: 'muted' }, 'next: ', when(d.nextAttemptAt)) : null),
    el('td', { text: String(d.attempts) }),
    el('td', { text: d.lastHttpStatus === null ? '—' : String(d.lastHttpStatus) }),
    el('td', { class: 'row-actions' }, show, retry));
  return [row, detail];
}

async function toggleAttempts(d, button, detail) {
  if (button.getAttribute('aria-expanded') === 'true') {
    button.setAttribute('aria-expanded', 'false');
    detail.hidden = true;
    return;
  }
  const answer = await api('GET', `webhooks/${enc(state.current.id)}/deliveries/${enc(d.id)}`);
  const log = answer.data.attemptLog;
  const items = log.map((a, i) => el('li', { class: 'attempt' },
    el('div', {},
      el('strong', { text: `Attempt ${i + 1}: ` }),
      a.httpStatus === null ? badge('bad', 'no answer') : badge(a.httpStatus < 300 && a.httpStatus >= 200 ? 'ok' : 'bad', `HTTP ${a.httpStatus}`),
      ` in ${a.durationMs} ms, `, when(a.attemptedAt)),
    a.error ? el('div', { class: 'bad-text', text: a.error }) : null,
    el('div', { class: 'muted', text: 'Response:' }),
    el('pre', { class: 'excerpt', text: a.responseExcerpt || '(empty)' })));
  const cell = detail.firstChild;
  cell.replaceChildren(items.length ? el('ol', { class: 'attempt-list' }, ...items)
    : el('p', { text: 'No attempt yet.' }));
  detail.hidden = false;
  button.setAttribute('aria-expanded', 'true');
}

async function retryDelivery(d) {
  const answer = await api('POST', `webhooks/${enc(state.current.id)}/deliveries/${enc(d.id)}/retry`);
  say(`Delivery ${answer.data.id} will be sent again now.`);
  await loadLog(false);
}

async function recover(event) {
  event.preventDefault();
  const button = event.submitter;
  const since = $('recover-since').value;
  const until = $('recover-until').value;
  await attempt(button, async () => {
    const body = { since: new Date(since).toISOString() };
    if (until) body.until = new Date(until).toISOString();
    const answer = await api('POST', `webhooks/${enc(state.current.id)}/recover`, body);
    const n = answer.data.recovered;
    say(`${n} failed deliver${n === 1 ? 'y' : 'ies'} re-queued.`);
    await loadLog(false);
  });
}

// ---- actions ------------------------------------------------------------------------

async function sendTest() {
  const answer = await api('POST', `webhooks/${enc(state.current.id)}/test`);
  const r = answer.data;
  const box = $('test-result');
  box.className = `result ${r.success ? 'ok' : 'bad'}`;
  box.replaceChildren(
    el('strong', { text: r.success ? 'Test delivered. ' : 'Test failed. ' }),
    el('span', { text: r.message }),
    r.success ? el('span', { text: ` (HTTP ${r.httpStatus})` }) : null, // failures name it
  );
  box.hidden = false;
  box.focus();
  await reloadCurrent();
  await loadLog(false);
}

async function toggle() {
  const answer = await api('POST', `webhooks/${enc(state.current.id)}/toggle`);
  await reloadCurrent();
  say(answer.data.message);
}

function confirmDialog(title, text, okLabel, withGrace = false) {
  const dialog = $('confirm-dialog');
  $('confirm-title').textContent = title;
  $('confirm-text').textContent = text;
  $('confirm-ok').textContent = okLabel;
  $('grace-field').hidden = !withGrace;
  dialog.returnValue = '';
  return new Promise((resolve) => {
    dialog.addEventListener('close', () => resolve(dialog.returnValue === 'ok'), { once: true });
    dialog.showModal();
    dialog.querySelector('button[value="cancel"]').focus(); // the safe choice first
  });
}

async function remove() {
  const w = state.current;
  const sure = await confirmDialog('Delete this webhook?',
    `${w.url} will stop receiving events. Deliveries still queued for it are dropped. This cannot be undone.`,
    'Delete webhook');
  if (!sure) return;
  const answer = await api('DELETE', `webhooks/${enc(w.id)}`);
  state.current = null;
  $('detail').hidden = true;
  $('webhooks').hidden = false;
  await loadWebhooks();
  say(answer.message);
  $('webhooks-title').focus();
}

async function rotate() {
  const sure = await confirmDialog('Rotate the signing secret?',
    'A new secret signs every delivery from now on. Your endpoint must switch to it.',
    'Rotate secret', true);
  if (!sure) return;
  const grace = Number($('grace').value);
  const answer = await api('POST', `webhooks/${enc(state.current.id)}/rotate-secret`, { graceSeconds: grace });
  const expires = answer.data.previousSecretExpiresAt;
  showSecret(answer.data.secret, expires
    ? `The old secret also signs deliveries (Standard Webhooks header only) until ${new Date(expires).toLocaleString()}.`
    : 'The old secret no longer signs anything.');
  say('Secret rotated.');
}

function showSecret(secret, note) {
  const dialog = $('secret-dialog');
  $('secret-value').value = secret;
  $('secret-note').textContent = note || '';
  $('secret-note').hidden = !note;
  $('copy-secret').textContent = 'Copy';
  dialog.showModal();
  $('secret-value').focus();
  $('secret-value').select();
}

async function copySecret() {
  const input = $('secret-value');
  try {
    await navigator.clipboard.writeText(input.value);
  } catch {
    input.select();
    document.execCommand('copy');
  }
  $('copy-secret').textContent = 'Copied';
  say('Secret copied to the clipboard.');
}

// ---- create and edit ----------------------------------------------------------------

function openForm(webhook) {
  state.editing = webhook || null;
  $('form-title').textContent = webhook ? 'Edit webhook' : 'New webhook';
  $('form-submit').textContent = webhook ? 'Save changes' : 'Create';
  $('f-url').value = webhook ? webhook.url : '';
  $('f-description').value = webhook ? webhook.description : '';
  $('f-rate-limit').value = webhook && webhook.rateLimit ? String(webhook.rateLimit) : '';
  $('f-filter').value = webhook && webhook.filter ? JSON.stringify(webhook.filter, null, 2) : '';
  $('f-ordering').value = webhook && webhook.ordering === 'fifo' ? 'fifo' : 'none';
  $('f-headers').value = webhook ? Object.entries(webhook.headers || {})
    .map(([name, value]) => `${name}: ${value}`).join('\n') : '';
  const current = webhook && webhook.auth;
  $('f-auth-keep').hidden = !current;
  $('f-auth-keep').disabled = !current;
  $('f-auth-keep').textContent = current ? `Keep the current one (${authText(webhook)})` : 'Keep';
  $('f-auth-type').value = current ? 'keep' : 'none';
  for (const input of $('f-auth').querySelectorAll('input')) input.value = '';
  syncAuth();
  const chosen = new Set(webhook ? webhook.events : ['*']);
  $('f-all').checked = chosen.has('*');
  $('f-events').replaceChildren(...state.eventTypes.map((type, i) => eventChoice(type, i, chosen)));
  syncEvents();
  $('form-dialog').showModal();
  $('f-url').focus();
}

function syncEvents() {
  const all = $('f-all').checked;
  for (const box of $('f-events').querySelectorAll('input')) box.disabled = all;
}

async function saveForm(event) {
  event.preventDefault();
  const events = $('f-all').checked ? ['*']
    : [...$('f-events').querySelectorAll('input:checked')].map((box) => box.value);
  const limit = $('f-rate-limit').value.trim(); // the browser has checked it is 1 to 10000
  const filterSource = $('f-filter').value.trim();
  let filter = null; // null: none (in an edit, removes it)
  if (filterSource) {
    try {
      filter = JSON.parse(filterSource);
    } catch (err) {
      showError(`Filter is not valid JSON: ${err.message}`);
      $('f-filter').focus();
      return;
    }
  }
  const body = {
    url: $('f-url').value.trim(), events, description: $('f-description').value,
    rateLimit: limit === '' ? null : Number(limit), // null: none (in an edit, removes it)
    filter, // the API checks it and names the path of what is wrong
    ordering: $('f-ordering').value,
  };
  await attempt(event.submitter, async () => {
    body.headers = parseHeaders($('f-headers').value); // {}: none (in an edit, removes them)
    const auth = authFromForm();
    if (auth !== undefined) body.auth = auth;
    if (state.editing) {
      const answer = await api('PATCH', `webhooks/${enc(state.editing.id)}`, body);
      $('form-dialog').close();
      showDetail(answer.data);
      say('Webhook saved.');
      $('detail-title').focus();
      return;
    }
    const answer = await api('POST', 'webhooks', body);
    $('form-dialog').close();
    await loadWebhooks();
    await openDetail(answer.data.id);
    showSecret(answer.data.secret);
    say('Webhook created. Copy its secret now.');
  });
}

// ---- wiring -------------------------------------------------------------------------

function wire() {
  $('sign-in-form').addEventListener('submit', (event) => {
    event.preventDefault();
    const value = $('token-input').value.trim();
    if (!value) return;
    sessionStorage.setItem(TOKEN_KEY, value);
    $('token-input').value = '';
    start();
  });
  $('sign-out').addEventListener('click', () => signOut());
  $('refresh').addEventListener('click', (e) => attempt(e.currentTarget, loadWebhooks));
  $('new-webhook').addEventListener('click', () => openForm(null));
  $('f-auth-type').addEventListener('change', syncAuth);
  $('close-detail').addEventListener('click', backToList);
  $('send-test').addEventListener('click', (e) => attempt(e.currentTarget, sendTest));
  $('toggle').addEventListener('click', (e) => attempt(e.currentTarget, toggle));
  $('edit').addEventListener('click', () => openForm(state.current));
  $('rotate').addEventListener('click', (e) => attempt(e.currentTarget, rotate));
  $('delete').addEventListener('click', (e) => attempt(e.currentTarget, remove));
  $('log-filter').addEventListener('submit', (e) => {
    e.preventDefault();
    attempt(e.submitter, () => loadLog(false));
  });
  $('stats-window').addEventListener('change', () => attempt(null, loadStats));
  $('log-more').addEventListener('click', (e) => attempt(e.currentTarget, () => loadLog(true)));
  $('recover-form').addEventListener('submit', recover);
  $('webhook-form').addEventListener('submit', saveForm);
  $('f-all').addEventListener('change', syncEvents);
  $('copy-secret').addEventListener('click', copySecret);
  // However the secret dialog closes (button or Escape), the secret leaves the page.
  $('secret-dialog').addEventListener('close', () => { $('secret-value').value = ''; });
  for (const button of document.querySelectorAll('[data-close]')) {
    button.addEventListener('click', () => button.closest('dialog').close());
  }
  // A platform may open the page again with a new #token= link in the same tab.
  window.addEventListener('hashchange', () => {
    if (new URLSearchParams(window.location.hash.slice(1)).has('token')) start();
  });
}

wire();
start();
