// "On behalf of the user": emulated sign-in and /api/me through aadOnBehalfOf.
// The user's token stays in the BFF's server-side session; this page only sees claims.

const $ = (id) => document.getElementById(id);

function show(id, value) {
  $(id).textContent = value === undefined || value === null || value === '' ? '–' : String(value);
}

async function json(response) {
  try {
    return await response.json();
  } catch {
    return undefined;
  }
}

async function refreshSession() {
  const session = await json(await fetch('/_bff/session', { cache: 'no-store' }));
  show('session-user', session?.signedIn ? session.name : 'nobody (signed out)');
  $('sign-out').disabled = !session?.signedIn;
}

/** The delegated token (/api/me) next to the app token (/api/whoami), as the backend verified them. */
async function compare() {
  const [me, app] = await Promise.all([fetch('/api/me', { cache: 'no-store' }), fetch('/api/whoami', { cache: 'no-store' })]);
  const [meBody, appBody] = await Promise.all([json(me), json(app)]);
  show('me-status', `${me.status}${meBody?.code ? ` ${meBody.code}` : ''}`);
  const www = me.headers.get('www-authenticate');
  show('me-www', www);
  const user = me.ok ? meBody?.claims ?? {} : {};
  const appClaims = app.ok ? appBody?.claims ?? {} : {};
  show('me-name', user.name);
  show('me-oid', user.oid);
  show('me-scp', user.scp);
  show('me-aud', user.aud);
  show('app-name', appClaims.name);
  show('app-oid', appClaims.oid);
  show('app-scp', appClaims.scp);
  show('app-aud', appClaims.aud);
  show('app-roles', Array.isArray(appClaims.roles) ? appClaims.roles.join(' ') : undefined);
  show('me-roles', Array.isArray(user.roles) ? user.roles.join(' ') : undefined);
}

async function post(path) {
  await fetch(path, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{}' });
  await refreshSession();
  await compare();
}

const section = $('obo');
const session = await fetch('/_bff/session', { cache: 'no-store' });
if (session.ok) {
  section.hidden = false;
  $('sign-in-alice').addEventListener('click', () => post('/_bff/session/sign-in/alice'));
  $('sign-in-bob').addEventListener('click', () => post('/_bff/session/sign-in/bob'));
  $('sign-out').addEventListener('click', () => post('/_bff/session/sign-out'));
  $('call-me').addEventListener('click', () => compare());
  await refreshSession();
}
