import { gatewayOf } from '../../lib/adapters/http-middleware.js';
import type { TokenTarget } from '../../lib/grants/token-source.js';
import { UserSubject } from '../../lib/subjects/user-subject.js';
import type { UserTokenValidator } from '../../lib/subjects/user-token/user-token-validator.js';

/** The user-token validator behind an `aadOnBehalfOf` middleware, reached through the gateway it carries: to count RS256 verifications. */
export function userValidatorOf(middleware: unknown): UserTokenValidator<TokenTarget> {
  const subject = gatewayOf(middleware)?.subject;
  if (!(subject instanceof UserSubject)) throw new Error('not an aadOnBehalfOf middleware');
  return subject.validator;
}
