import { expect } from 'chai';

/** What a browser holds after signing in to the example BFF: its session cookie. */
export interface SignedIn {
  /** `bff.sid=…`, for a `Cookie` header. */
  readonly cookie: string;
  /** The raw `Set-Cookie` of the callback, for attribute checks. */
  readonly setCookie: string;
  /** Where the callback sent the browser. */
  readonly landing: string;
}

function cookiePair(setCookie: string[], name: string): string | undefined {
  return setCookie.find((line) => line.startsWith(`${name}=`))?.split(';')[0];
}

/**
 * Signs in as a browser does, with fetch and no page: `GET /auth/sign-in?user=…` (302 to the
 * IdP, with the transaction cookie), the IdP's 302 back to the callback, and the callback's
 * 303 to the page with the session cookie.
 */
export async function signInAs(bffUrl: string, user?: 'alice' | 'bob'): Promise<SignedIn> {
  const start = await fetch(`${bffUrl}/auth/sign-in${user === undefined ? '' : `?user=${user}`}`, { redirect: 'manual' });
  expect(start.status, await start.clone().text()).to.equal(302);
  const transaction = cookiePair(start.headers.getSetCookie(), 'bff.tx');
  expect(transaction, 'transaction cookie').to.be.a('string');
  const authorize = new URL(start.headers.get('location')!);
  expect(authorize.searchParams.get('code_challenge_method')).to.equal('S256');

  const idp = await fetch(authorize, { redirect: 'manual' });
  expect(idp.status, await idp.clone().text()).to.equal(302);
  const callback = new URL(idp.headers.get('location')!);
  expect(callback.searchParams.get('code'), callback.href).to.be.a('string');

  const back = await fetch(callback, { redirect: 'manual', headers: { cookie: transaction! } });
  expect(back.status).to.equal(303);
  const setCookie = back.headers.getSetCookie();
  const cookie = cookiePair(setCookie, 'bff.sid');
  expect(cookie, `session cookie; landed on ${back.headers.get('location')}`).to.be.a('string');
  return { cookie: cookie!, setCookie: setCookie.find((line) => line.startsWith('bff.sid='))!, landing: back.headers.get('location')! };
}
