// The example page: plain browser JavaScript, no build step.
// It only talks to its own origin: /api/* (through the BFF) and /_bff/*.

const $ = (id) => document.getElementById(id);
const AUTO_CALL_MS = 10_000;
const STATUS_MS = 2_000;

/** What the provider's last 'error' event said (from /_bff/status): for operators. */
let lastError;

const state = {
  about: undefined,
  claims: undefined,
  /** Server clock minus browser clock, so countdowns match the BFF. */
  skewMs: 0,
  /** Which call the error panel is about; a later success of that call clears it. */
  errorFrom: undefined,
  busy: false,
};

// ---------- small helpers ----------

function text(id, value) {
  $(id).textContent = value ?? '–';
}

function clock(epochMs) {
  return new Date(epochMs).toLocaleTimeString([], { hour: '2-digit', minute: '2-digit', second: '2-digit' });
}

function duration(seconds) {
  if (seconds === null || seconds === undefined || !Number.isFinite(seconds)) return '–';
  const s = Math.max(0, Math.round(seconds));
  return s >= 60 ? `${Math.floor(s / 60)}:${String(s % 60).padStart(2, '0')}` : `${s} s`;
}

function now() {
  return Date.now() + state.skewMs;
}

function element(tag, className, content) {
  const node = document.createElement(tag);
  if (className) node.className = className;
  if (content !== undefined) node.textContent = content;
  return node;
}

async function readBody(response) {
  const raw = await response.text();
  try {
    return { json: JSON.parse(raw), raw };
  } catch {
    return { json: undefined, raw };
  }
}

// ---------- the claims the backend verified ----------

function renderClaims(claims, receivedAt) {
  state.claims = claims;
  text('claim-aud', Array.isArray(claims.aud) ? claims.aud.join(', ') : claims.aud);
  text('claim-appid', claims.appid ?? claims.azp);
  text('claim-iss', claims.iss);
  text('claim-tid', claims.tid);
  text('claim-iat', claims.iat ? `${clock(claims.iat * 1000)}` : '–');
  text('claim-exp', claims.exp ? `${clock(claims.exp * 1000)}` : '–');
  const roles = $('claim-roles');
  roles.replaceChildren();
  const list = Array.isArray(claims.roles) ? claims.roles : [];
  if (list.length === 0) roles.append(element('span', 'muted', 'none'));
  for (const role of list) roles.append(element('span', 'role', role));
  $('claims-json').textContent = JSON.stringify(claims, null, 2);
  text('claims-when', `verified at ${clock(receivedAt)}`);
  $('claims-card').classList.remove('stale');
  tick();
}

/** Countdown and life bar, four times a second. */
function tick() {
  const claims = state.claims;
  if (!claims?.exp || !claims.iat) return;
  const left = claims.exp - now() / 1000;
  const life = claims.exp - claims.iat;
  const countdown = $('claim-countdown');
  countdown.textContent = left > 0 ? `in ${duration(left)}` : 'expired';
  countdown.classList.toggle('late', left < life * 0.1);
  $('lifebar-used').style.width = `${Math.min(100, Math.max(0, (1 - left / life) * 100))}%`;

  // Where the BFF starts a background refresh: halfway at the earliest, else the window before expiry.
  const windowS = state.about?.refreshWindowSeconds;
  const mark = $('lifebar-refresh');
  if (windowS !== undefined) {
    const refreshAt = Math.max(life / 2, life - windowS);
    mark.style.left = `${(refreshAt / life) * 100}%`;
    mark.hidden = false;
    const untilRefresh = claims.iat + refreshAt - now() / 1000;
    if ($('claims-card').classList.contains('stale')) text('life-note', 'These claims come from the last call that succeeded.');
    else text('life-note', untilRefresh > 0
      ? `The BFF refreshes this token on the first request after ${clock((claims.iat + refreshAt) * 1000)} (in ${duration(untilRefresh)}).`
      : 'Past the refresh point: the next request starts a background refresh, and a later call shows a new iat.');
  }
}

// ---------- the BFF's stats ----------

function renderStatus(status) {
  state.skewMs = status.now - Date.now();
  lastError = status.lastError ?? undefined;
  const first = state.about === undefined;
  state.about = status.about;
  const { stats, about } = status;
  for (const key of ['tokenRequests', 'cacheHits', 'refreshes', 'failures']) text(`stat-${key}`, String(stats[key]));
  text('stat-expiry', stats.secondsUntilExpiry === null ? '–' : duration(stats.secondsUntilExpiry));
  text('stat-lastErrorCode', stats.lastErrorCode ?? 'none');
  $('stat-lastErrorCode').classList.toggle('bad', Boolean(stats.lastErrorCode));
  $('stat-failures').classList.toggle('bad', stats.failures > 0);
  text('stats-when', `updated ${clock(status.now)}`);

  const events = $('events');
  events.replaceChildren();
  if (status.events.length === 0) events.append(element('li', 'muted', 'none yet'));
  for (const event of status.events) {
    const item = element('li', `event event-${event.kind}`);
    item.append(element('time', '', clock(event.at)), element('span', '', event.text));
    events.append(item);
  }

  if (first) renderAbout(about, status.demo);
}

function renderAbout(about, demo) {
  const mode = $('mode');
  mode.textContent = about.mode === 'local' ? 'Local mode · Entra ID emulator' : 'Entra ID';
  mode.classList.add(about.mode);
  text('flow-idp', about.mode === 'local' ? 'emulator on loopback' : about.identityProvider);
  text('flow-resource', `scope ${about.resource}/.default`);
  $('demo-group').hidden = !demo;
  text('lifetime-note', about.mode === 'local'
    ? `Local mode: the emulator issues tokens that live ${about.tokenLifetimeSeconds} s, and the BFF refreshes them in the background ` +
      `once ${about.refreshWindowSeconds} s are left, so you can watch a refresh within two minutes. Requests keep getting the current ` +
      'token while the new one is fetched: nobody waits. Real Entra ID tokens live 60–90 minutes, and the default refresh window is 5 minutes.'
    : `Tokens come from ${about.identityProvider} (${about.credential}) for ${about.resource}, and are refreshed in the background ` +
      `once ${about.refreshWindowSeconds / 60} minutes are left.`);
}

async function pollStatus() {
  try {
    const response = await fetch('/_bff/status', { cache: 'no-store' });
    if (response.ok) renderStatus(await response.json());
  } catch {
    text('stats-when', 'the BFF does not answer');
  }
}

// ---------- explaining failures ----------

function explain(path, response, body, wwwAuthenticate) {
  const code = body.json?.code;
  const aadsts = body.json?.aadsts;
  if (response === undefined) {
    return { title: 'The BFF did not answer', text: 'The request never got an answer. Is npm start still running?', facts: [] };
  }
  const facts = [['status', `${response.status} ${response.statusText}`]];
  if (code) facts.push(['code', code]);
  switch (code) {
    case 'ERR_IDP_REJECTED':
      return {
        title: 'Entra ID refused to issue a token',
        text: 'aadBackendAuth answered 502 with application/problem+json and forwarded nothing to the backend. The browser gets a generic message; ' +
          "the AADSTS code and correlation id go to the BFF's log and to the provider's 'error' event, for operators. " +
          'Such errors mean the configuration is wrong (secret, client id, tenant, resource), so the middleware does not retry them.',
        facts: [...facts, ...lastErrorFacts()],
      };
    case 'ERR_IDP_UNAVAILABLE':
    case 'ERR_IDP_MALFORMED_RESPONSE':
      return {
        title: 'Entra ID is unavailable',
        text: 'The middleware retried with back-off within its timeout (each try counts as a token request in the stats), then answered with application/problem+json' +
          (response.headers.get('retry-after') ? ` and Retry-After: ${response.headers.get('retry-after')}` : '') +
          '. Had it held a token that was still valid, it would have kept using it: the demo buttons drop the cached token so the failure shows at once.',
        facts: [...facts, ...lastErrorFacts()],
      };
    case 'ERR_CREDENTIAL_UNAVAILABLE':
      return { title: 'The credential cannot get tokens here', text: 'The TokenCredential found no identity (no managed identity, no az login, no environment variables).', facts };
    case 'ECONNREFUSED':
    case 'ECONNRESET':
    case 'ENOTFOUND':
    case 'ETIMEDOUT':
      return { title: 'The BFF could not reach the backend', text: 'The token was fine, but http-proxy-middleware could not connect to the backend.', facts };
  }
  if (response.status === 401) {
    return {
      title: 'The backend refused the token',
      text: 'The backend checks the signature, issuer, audience and expiry of every token, and answers 401 with an RFC 6750 WWW-Authenticate challenge when one fails.',
      facts: [...facts, ['WWW-Authenticate', wwwAuthenticate ?? '–']],
    };
  }
  if (response.status === 403) {
    const role = body.json?.required_role ?? 'the role';
    return {
      title: `Valid token, but no ${role} role`,
      text: `The backend verified the token (signature, issuer, audience, expiry), but its roles claim lacks ${role}, so it answered 403 insufficient_scope. ` +
        'The BFF did its job; the fix is in Entra ID: give the BFF\'s app registration that application permission (app role) on the API, and grant admin consent. ' +
        (state.about?.mode === 'local' ? 'Here the emulator grants only Orders.Read, so this 403 is what should happen.' : ''),
      facts: [...facts, ['WWW-Authenticate', wwwAuthenticate ?? '–']],
    };
  }
  if (response.status === 404) {
    return { title: 'The backend has no such route', text: `${path} reached the backend, which answered 404. The page expects GET /whoami, as the sample backend serves it.`, facts };
  }
  return { title: `${path} failed`, text: body.json?.detail ?? body.json?.error_description ?? 'The call did not succeed.', facts };
}

function lastErrorFacts() {
  if (!lastError) return [];
  return lastError.aadsts ? [['AADSTS (BFF log)', lastError.aadsts]] : [];
}

function showError(path, explanation) {
  state.errorFrom = path;
  const panel = $('error');
  panel.hidden = false;
  text('error-title', explanation.title);
  text('error-text', explanation.text);
  text('error-status', explanation.facts[0]?.[1]?.split(' ')[0] ?? '!');
  const facts = $('error-facts');
  facts.replaceChildren();
  for (const [name, value] of explanation.facts) facts.append(element('dt', '', name), element('dd', '', value));
}

function clearError(path, manual) {
  if (manual || state.errorFrom === path) {
    $('error').hidden = true;
    state.errorFrom = undefined;
  }
}

// ---------- calls ----------

async function call(path, { manual }) {
  const started = performance.now();
  if (manual) {
    text('resp-what', `GET ${path}`);
    text('resp-status', '…');
    $('resp-status').className = 'pill';
    text('resp-time', 'calling…');
  }
  // A failing IdP is retried until the middleware's timeout (10 s by default): say why nothing happens.
  const slow = manual ? setTimeout(() => text('resp-time', 'waiting… the BFF retries a failing IdP for up to 10 s'), 1500) : undefined;
  let response;
  let body = { json: undefined, raw: '' };
  try {
    // x-csrf: the BFF's anti-forgery header, required on the user's routes; sent on every /api call.
    response = await fetch(path, { cache: 'no-store', headers: { accept: 'application/json', 'x-csrf': '1' } });
    body = await readBody(response);
  } catch {
    response = undefined;
  }
  clearTimeout(slow);
  const ms = Math.round(performance.now() - started);
  const www = response?.headers.get('www-authenticate') ?? undefined;

  if (manual) {
    text('resp-status', response ? String(response.status) : 'no answer');
    $('resp-status').className = `pill ${response?.ok ? 'good' : 'bad'}`;
    text('resp-time', `${ms} ms`);
    $('resp-www').hidden = www === undefined;
    text('resp-www-value', www);
    $('resp-body').textContent = body.json ? JSON.stringify(body.json, null, 2) : body.raw;
  }
  if (response?.ok) {
    if (path === '/api/whoami' && body.json?.claims) renderClaims(body.json.claims, Date.now());
    clearError(path, manual);
  } else {
    if (path === '/api/whoami' && state.claims) {
      $('claims-card').classList.add('stale');
      text('claims-when', 'stale: the last call failed');
      tick();
    }
    await pollStatus();
    showError(path, explain(path, response, body, www));
  }
}

async function demo(action) {
  await fetch(`/_bff/demo/${action}`, { method: 'POST', headers: { 'content-type': 'application/json', 'x-csrf': '1' }, body: '{}' });
  await call('/api/whoami', { manual: true });
  await pollStatus();
}

// ---------- wiring ----------

function guarded(work) {
  return async () => {
    if (state.busy) return;
    state.busy = true;
    document.body.classList.add('busy');
    try {
      await work();
    } finally {
      state.busy = false;
      document.body.classList.remove('busy');
    }
  };
}

for (const button of document.querySelectorAll('[data-call]')) {
  button.addEventListener('click', guarded(() => call(button.dataset.call, { manual: true })));
}
for (const button of document.querySelectorAll('[data-demo]')) {
  button.addEventListener('click', guarded(() => demo(button.dataset.demo)));
}

await pollStatus();
await call('/api/whoami', { manual: true });
await pollStatus();
setInterval(pollStatus, STATUS_MS);
setInterval(tick, 250);
setInterval(() => {
  if ($('auto').checked && !state.busy) void call('/api/whoami', { manual: false });
}, AUTO_CALL_MS);
