import { ErrorCode, ReleaseBotError } from '../errors.js';
import { clip } from '../validate.js';

/**
 * Conjur ids as the bot accepts them: `/`-separated segments of letters, digits, `_`, `.`, `@`, `-`,
 * each segment starting with a letter, digit or `_`. Conjur itself allows more, but an id that can
 * hold `..`, `?`, `#`, `%`, `,`, `:` or whitespace could change a request's path or query, or smuggle a
 * second id into a batch, so it is refused before anything is sent (and what is sent is encoded too).
 */
const SEGMENT = '[A-Za-z0-9_][A-Za-z0-9_.@-]*';
export const CONJUR_ID = new RegExp(`^${SEGMENT}(?:/${SEGMENT})*$`);
/** An account names a namespace, never a path: no `/` at all. */
export const CONJUR_ACCOUNT = /^[A-Za-z0-9_][A-Za-z0-9_.-]*$/;
const MAX_ID_LENGTH = 256;

export type IdKind = 'variable' | 'group' | 'login' | 'account';

/** Throws a BadInput error naming what is wrong, or returns the id unchanged. */
export function assertConjurId(id: string, kind: Exclude<IdKind, 'login' | 'account'>): string {
  if (typeof id !== 'string' || id.length > MAX_ID_LENGTH || !CONJUR_ID.test(id)) {
    throw new ReleaseBotError(
      ErrorCode.BadInput,
      `invalid Conjur ${kind} id ${JSON.stringify(clip(String(id)))}: use segments of letters, digits, "_", ".", "@" and "-" separated by "/", such as release/conjur-cli`,
      { details: { kind } },
    );
  }
  return id;
}

/** A role kind and id from a login: `host/<id>` is a host, anything else a user. */
export function roleOfLogin(login: string): { kind: 'user' | 'host'; id: string } {
  const host = typeof login === 'string' && login.startsWith('host/');
  const id = host ? login.slice('host/'.length) : login;
  if (typeof id !== 'string' || id.length > MAX_ID_LENGTH || !CONJUR_ID.test(id)) {
    throw new ReleaseBotError(
      ErrorCode.BadInput,
      `invalid Conjur login ${JSON.stringify(clip(String(login)))}: use a user id such as alice or a host id such as host/release-bot`,
      { details: { kind: 'login' } },
    );
  }
  return { kind: host ? 'host' : 'user', id };
}

export function assertAccount(account: string): string {
  if (typeof account !== 'string' || account.length > MAX_ID_LENGTH || !CONJUR_ACCOUNT.test(account)) {
    throw new ReleaseBotError(
      ErrorCode.ConfigInvalid,
      `CONJUR_ACCOUNT ${JSON.stringify(clip(String(account)))} is not a Conjur account name: use the account given to \`conjurctl account create\` (letters, digits, "_", ".", "-")`,
    );
  }
  return account;
}

/** One URL path segment: `/` becomes `%2F`, so an id can never add a path step. */
export const segment = (s: string): string => encodeURIComponent(s);
