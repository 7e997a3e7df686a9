// "Signed in as a user": a real sign-in (authorization code + PKCE at the IdP), then /api/me
// through aadUserToken. The user's tokens stay in the BFF's server-side session; this page
// only sees claims and times. Every call sends x-csrf: 1, the BFF's anti-forgery header.

const $ = (id) => document.getElementById(id);
const CSRF = { 'x-csrf': '1' };
const AUTO_CALL_MS = 10_000;
const SESSION_MS = 5_000;

let session;

function show(id, value) {
  $(id).textContent = value === undefined || value === null || value === '' ? '–' : String(value);
}

function clock(epochMs) {
  return new Date(epochMs).toLocaleTimeString([], { hour: '2-digit', minute: '2-digit', second: '2-digit' });
}

async function json(response) {
  try {
    return await response.json();
  } catch {
    return undefined;
  }
}

function post(path) {
  return fetch(path, { method: 'POST', headers: { 'content-type': 'application/json', ...CSRF }, body: '{}' });
}

function signInButtons(container) {
  container.replaceChildren();
  const users = session?.users ?? [];
  for (const user of users.length > 0 ? users : ['']) {
    const button = document.createElement('button');
    button.type = 'button';
    button.textContent = user ? `Sign in again as ${user[0].toUpperCase()}${user.slice(1)}` : 'Sign in again';
    button.addEventListener('click', () => signIn(user));
    container.append(button);
  }
}

function prompt(title, text) {
  $('sign-in-again').hidden = false;
  show('sign-in-again-title', title);
  show('sign-in-again-text', text);
  signInButtons($('sign-in-again-buttons'));
}

function renderSession() {
  const s = session;
  const name = s.name ?? undefined;
  show('session-user', s.signedIn ? name : s.expired ? `${name} (session ended)` : 'nobody (signed out)');
  const demo = s.users.length > 0;
  $('sign-in-alice').hidden = !s.users.includes('alice');
  $('sign-in-bob').hidden = !s.users.includes('bob');
  $('sign-in-entra').hidden = demo;
  $('revoke').hidden = !s.canRevoke;
  for (const id of ['revoke', 'refresh-now', 'sign-out']) $(id).disabled = !s.signedIn;
  show('obo-idp', demo ? 'the local Entra ID emulator (its test users Alice and Bob, chosen with login_hint)' : 'Entra ID');
  show('session-signed-in-at', s.signedInAt ? clock(s.signedInAt) : undefined);
  show('session-refreshed', s.refreshedAt
    ? `${clock(s.refreshedAt)} (${s.refreshes} refresh${s.refreshes === 1 ? '' : 'es'} since sign-in)`
    : s.signedIn ? 'not yet: the access token from the sign-in is still in use' : undefined);
  if (s.signedIn && s.accessTokenExpiresAt) {
    const left = Math.round((s.refreshAfter - s.now) / 1000);
    show('session-expires', `expires at ${clock(s.accessTokenExpiresAt)}; ` + (left > 0
      ? `aadUserToken refreshes it on the first /api/me after ${clock(s.refreshAfter)} (in ${left} s)`
      : 'past its refresh point: the next /api/me refreshes it'));
  } else {
    show('session-expires', undefined);
  }
  if (s.expired) {
    prompt('Your session has ended.', 'The identity provider refused the refresh token (ERR_USER_SESSION_EXPIRED), so aadUserToken cleared the session.');
  } else if (s.signedIn) {
    $('sign-in-again').hidden = true;
  }
}

async function loadSession() {
  const response = await fetch('/_bff/session', { cache: 'no-store', headers: CSRF });
  if (!response.ok) return false;
  session = await response.json();
  renderSession();
  return true;
}

function iat(claims) {
  return claims?.iat ? clock(claims.iat * 1000) : undefined;
}

/** The user's token (/api/me) next to the app token (/api/whoami), as the backend verified them. */
async function compare() {
  const [me, app] = await Promise.all([fetch('/api/me', { cache: 'no-store', headers: CSRF }), fetch('/api/whoami', { cache: 'no-store', headers: CSRF })]);
  const [meBody, appBody] = await Promise.all([json(me), json(app)]);
  show('me-status', `${me.status}${meBody?.code ? ` ${meBody.code}` : ''}`);
  show('me-www', me.headers.get('www-authenticate'));
  const user = me.ok ? meBody?.claims ?? {} : {};
  const appClaims = app.ok ? appBody?.claims ?? {} : {};
  for (const [key, value] of Object.entries({ name: user.name, oid: user.oid, scp: user.scp, aud: user.aud, iat: iat(user) })) show(`me-${key}`, value);
  for (const [key, value] of Object.entries({ name: appClaims.name, oid: appClaims.oid, scp: appClaims.scp, aud: appClaims.aud, iat: iat(appClaims) })) show(`app-${key}`, value);
  show('app-roles', Array.isArray(appClaims.roles) ? appClaims.roles.join(' ') : undefined);
  show('me-roles', Array.isArray(user.roles) ? user.roles.join(' ') : undefined);
  await loadSession();
}

function signIn(user) {
  location.assign(user ? `/auth/sign-in?user=${encodeURIComponent(user)}` : '/auth/sign-in');
}

async function signOut() {
  await post('/_bff/session/sign-out');
  $('sign-in-again').hidden = true;
  show('session-note', '');
  await compare();
}

async function refreshNow() {
  await post('/_bff/session/expire-access-token');
  show('session-note', 'Refresh now: the session\'s access token was marked as expired, so this /api/me made aadUserToken redeem the refresh token (once, whatever the number of calls) and store the rotated tokens in the session.');
  await compare();
}

async function revoke() {
  const answer = await json(await post('/_bff/session/revoke'));
  show('session-note', `Revoked ${session?.username}'s refresh tokens at the emulated Entra ID (${answer?.revoked ?? 0} still redeemable), as an admin's "Revoke sessions" does. ` +
    'The access token would keep working until it expires; to show the outcome now, the page then expired it (as Refresh now does), so this /api/me had to refresh.');
  await post('/_bff/session/expire-access-token');
  await compare();
}

const failed = new URLSearchParams(location.search).get('sign_in_error');
if (await loadSession()) {
  $('obo').hidden = false;
  for (const button of document.querySelectorAll('[data-sign-in]')) button.addEventListener('click', () => signIn(button.dataset.signIn));
  $('sign-out').addEventListener('click', () => signOut());
  $('call-me').addEventListener('click', () => compare());
  $('refresh-now').addEventListener('click', () => refreshNow());
  $('revoke').addEventListener('click', () => revoke());
  if (failed) {
    prompt('Sign-in failed.', `The BFF did not sign you in (${failed}).`);
    history.replaceState(null, '', '/#obo');
  }
  if (session.signedIn) await compare();
  setInterval(() => void loadSession(), SESSION_MS);
  setInterval(() => {
    if (session?.signedIn && $('auto').checked) void compare();
  }, AUTO_CALL_MS);
}
