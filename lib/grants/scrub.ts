/** Removes every secret a request carried from text the IdP sent back or an error holds. */
export type Scrub = (text: string) => string;

/** `application/x-www-form-urlencoded`, as URLSearchParams writes it (`~` as `%7E`, space as `+`). */
export function formEncode(value: string): string {
  return new URLSearchParams({ v: value }).toString().slice(2);
}

/** The same text with its percent escapes in lower case (`%7e`), as some servers re-encode. */
function lowerEscapes(value: string): string {
  return value.replace(/%[0-9A-F]{2}/g, (escape) => escape.toLowerCase());
}

/**
 * Every spelling in which `secret` travels or may be echoed: raw, form-encoded (the body and
 * the Basic value), percent-encoded (`encodeURIComponent`), both with lower-case escapes, the
 * form-decoding of a `+` as a space, and JSON-string escaped.
 */
export function secretForms(secret: string): string[] {
  const form = formEncode(secret);
  const percent = encodeURIComponent(secret);
  const forms = [secret, form, percent, lowerEscapes(form), lowerEscapes(percent), JSON.stringify(secret).slice(1, -1)];
  // A server that decodes `+` as a space but leaves escapes (or the reverse) echoes a hybrid.
  forms.push(form.replaceAll('+', '%20'), form.replaceAll('+', ' '));
  return forms;
}

/** The Basic value `authorization` (`Basic <base64>`) and what it decodes to. */
export function basicForms(authorization: string): string[] {
  const encoded = authorization.slice(authorization.indexOf(' ') + 1);
  return [encoded, Buffer.from(encoded, 'base64').toString('utf8')];
}

/** A scrubber for `secrets`, longest first, and nothing so short that scrubbing it would mangle ordinary text. */
export function scrubber(secrets: readonly string[]): Scrub {
  const needles = [...new Set(secrets)].filter((s) => s.length >= 4).sort((a, b) => b.length - a.length);
  return (text) => needles.reduce((out, needle) => out.split(needle).join('[REDACTED]'), text);
}
